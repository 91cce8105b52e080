// Owning file descriptor for kernel objects handed out as fds (maps, programs, links, pins).
#pragma once

#include <unistd.h>

#include <utility>

namespace portway::loader {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  // Takes ownership; a negative value means "no fd" so a failed syscall result can be wrapped
  // before it is checked.
  explicit UniqueFd(int fd) noexcept : fd_(fd < 0 ? -1 : fd) {}

  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }

  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) {
      // close() errors are not actionable here; the fd is gone either way on Linux.
      ::close(fd_);
    }
    fd_ = fd < 0 ? -1 : fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace portway::loader
