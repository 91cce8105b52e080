// Ends flows off the apply path: apply() hands over what to delete and returns; a worker
// thread walks the conntrack table (a dump costs ~10 ms on a 262,144-bucket table even when
// it is empty, more than the whole one-endpoint ruleset change) and deletes the matches.
// The worker starts right away, so a removed backend's UDP flows re-balance within
// milliseconds, well inside the 1 s of docs/dataplane.md "Semantics". The destructor finishes
// queued work.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dataplane/conntrack/conntrack_table.h"

namespace portway::dataplane::conntrack {

class FlowReaper {
 public:
  explicit FlowReaper(std::unique_ptr<ConntrackTable> table);
  ~FlowReaper();
  FlowReaper(const FlowReaper&) = delete;
  FlowReaper& operator=(const FlowReaper&) = delete;

  void submit(std::vector<FlowMatch> matches);
  // Blocks until everything submitted before the call has been processed.
  void drain();
  // Entries deleted so far, in total.
  std::size_t ended() const;

 private:
  void run();

  std::unique_ptr<ConntrackTable> table_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<FlowMatch>> queue_;
  std::size_t submitted_ = 0, done_ = 0, ended_ = 0;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace portway::dataplane::conntrack
