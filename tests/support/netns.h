// A private network namespace for the calling thread, for tests that create links.
#pragma once

#include "loader/unique_fd.h"

namespace portway::test {

// Moves the calling thread into a new, empty network namespace and back on destruction. The
// namespace and every link created in it disappear once the thread has left it and no fd
// refers to it any more, also when the test fails half way (docs/testing.md: a test removes
// what it creates). Needs CAP_SYS_ADMIN.
class ScopedNetns {
 public:
  ScopedNetns();  // throws std::system_error
  ~ScopedNetns();

  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;
  ScopedNetns(ScopedNetns&&) = delete;
  ScopedNetns& operator=(ScopedNetns&&) = delete;

 private:
  loader::UniqueFd previous_;
};

}  // namespace portway::test
