#include "pktgen/netns_enter.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <system_error>

namespace portway::pktgen {

NetnsEnter::NetnsEnter(const std::string& name_or_path) {
  if (name_or_path.empty()) return;
  const std::string path =
      name_or_path.find('/') != std::string::npos ? name_or_path : "/run/netns/" + name_or_path;
  const int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) throw std::system_error(errno, std::generic_category(), "network namespace " + path);
  previous_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (previous_ < 0 || setns(target, CLONE_NEWNET) != 0) {
    const int err = errno;
    close(target);
    if (previous_ >= 0) close(previous_);
    throw std::system_error(err, std::generic_category(), "enter network namespace " + path);
  }
  close(target);
}

NetnsEnter::~NetnsEnter() {
  if (previous_ < 0) return;
  // A thread that cannot go back would run on in a namespace that is about to go away.
  if (setns(previous_, CLONE_NEWNET) != 0) std::terminate();
  close(previous_);
}

}  // namespace portway::pktgen
