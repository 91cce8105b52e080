#include "support/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace portway::test {

ScopedNetns::ScopedNetns() : previous_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
  if (!previous_) {
    throw std::system_error(errno, std::generic_category(), "open /proc/thread-self/ns/net");
  }
  // CLONE_NEWNET is per thread, so this is allowed in a multi-threaded test binary and leaves
  // other threads where they were.
  if (::unshare(CLONE_NEWNET) != 0) {
    throw std::system_error(errno, std::generic_category(), "unshare(CLONE_NEWNET)");
  }
}

ScopedNetns::~ScopedNetns() {
  if (::setns(previous_.get(), CLONE_NEWNET) != 0) {
    // Carrying on in the wrong namespace would make every later test lie; stop here.
    std::abort();
  }
}

}  // namespace portway::test
