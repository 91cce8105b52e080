// One writer per pin folder (docs/operations.md "One writer per pin folder"): `portway sync`,
// the lab and the daemon take this lock before they read or change anything of the node's
// dataplane, whichever dataplane they program, so two of them never interleave their writes
// to the same maps, links or nft table.
//
// The lock is flock(LOCK_EX) on the pin folder directory itself (bpffs supports flock on a
// directory fd like any filesystem): it lives where the pins live, so every process that
// sees those pins, in any mount namespace or container, sees the same lock; the kernel drops
// it when the holder exits or is killed, so a crash never leaves it stuck. The holder's pid is
// read from /proc/locks. A holder may remove the folder (removing the fast path does): a
// waiter that then gets the lock on the removed directory notices and takes the new one.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "errors/error.h"
#include "loader/unique_fd.h"

namespace portway::loader {

// The lock was held by another process for longer than the caller would wait.
class PinFolderBusy : public portway::Error {
 public:
  PinFolderBusy(const std::string& folder, std::optional<pid_t> holder);
  std::optional<pid_t> holder() const { return holder_; }

 private:
  std::optional<pid_t> holder_;
};

class PinFolderLock {
 public:
  // Creates the folder when missing (ensure_bpffs: mounts bpffs, refuses one that would not
  // outlive the process), then takes the lock, retrying until `wait` has passed. Throws
  // PinFolderBusy when another process still holds it, loader::Error for the folder itself.
  static PinFolderLock acquire(const std::string& folder, std::chrono::milliseconds wait);

  PinFolderLock(PinFolderLock&&) noexcept = default;
  PinFolderLock& operator=(PinFolderLock&&) noexcept = default;
  ~PinFolderLock() = default;  // closing the fd releases the lock

  const std::string& folder() const { return folder_; }

 private:
  PinFolderLock(UniqueFd fd, std::string folder) : fd_(std::move(fd)), folder_(std::move(folder)) {}
  UniqueFd fd_;
  std::string folder_;
};

// The pid holding the lock of `folder` (as this process's pid namespace numbers it), nullopt
// when nobody holds it or the holder is not visible from here.
std::optional<pid_t> pin_folder_lock_holder(const std::string& folder);

}  // namespace portway::loader
