// The read phase of the daemon's checks, off the reconcile loop (docs/operations.md "Drift
// repair"): at 10,000 Services an nft read-back takes seconds, and the loop must keep
// programming store changes meanwhile. One thread, one reading at a time; when a reading is
// done (or failed) fd() becomes readable, for the loop's epoll set.
//
// The thread is started by the constructor, so it inherits the caller's signal mask (the
// loop blocks SIGTERM/SIGINT/SIGHUP first: they stay with its signalfd).
//
// Readings are freed on this thread too (discard()): freeing a dump of 10,000 Services takes
// longer than the repair that used it.
//
// The thread runs at nice 19: on a node with few cores a full check's read (seconds at 10,000
// Services) would otherwise compete as an equal with the loop for a core while a store change
// waits to be programmed (docs/performance.md, "The daemon at 10,000 Services"). Linux applies
// setpriority(PRIO_PROCESS, tid) to the one thread.
//
// Destruction does not wait for a read in flight (a SIGTERM must not wait seconds for a
// dump): the thread is detached and ends when the read returns, or with the process. It only
// reads, through kernel handles of its own, so nothing is left half-done.
#pragma once

#include <sys/types.h>

#include <exception>
#include <memory>

#include "dataplane/dataplane.h"
#include "loader/unique_fd.h"

namespace portway::daemon {

class CheckWorker {
 public:
  CheckWorker();
  ~CheckWorker();
  CheckWorker(const CheckWorker&) = delete;
  CheckWorker& operator=(const CheckWorker&) = delete;

  // Readable when a reading is done; take() clears it.
  int fd() const;
  // True from start() until take() returned the reading.
  bool busy() const { return busy_; }

  // Runs reader->read() on the worker. Only when !busy().
  void start(std::unique_ptr<dataplane::KernelReader> reader);

  // The finished reading; rethrows what read() threw. Only after fd() was readable.
  std::unique_ptr<dataplane::KernelReading> take();

  // Frees `reading` on the worker thread, then returns the heap's free pages to the kernel
  // (trim_heap()).
  void discard(std::unique_ptr<dataplane::KernelReading> reading);

  // Returns the free pages of every malloc arena to the kernel (malloc_trim), on the worker
  // thread. glibc keeps what a full programming or a check freed mapped as long as anything
  // above it in the heap is in use: at 10,000 Services on nft, ~800 MB of the daemon's 900 MB
  // RSS after its start were free heap (docs/performance.md, "The nft daemon's memory").
  void trim_heap();

  // The worker thread's kernel thread id, once it runs (waits for it).
  pid_t thread_id() const;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  bool busy_ = false;
};

}  // namespace portway::daemon
