#include "netlink/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

namespace portway::netlink {
namespace {

[[noreturn]] void fail(const std::string& what, int err = errno) {
  throw std::system_error(err, std::generic_category(), what);
}

std::string path_of(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw std::invalid_argument("invalid namespace name \"" + name + "\"");
  return std::string(kNetnsDir) + "/" + name;
}

// Bind mounts of namespaces must be able to propagate to other mount namespaces (so `ip netns
// exec` and later `portway lab` runs see them): /run/netns is made a shared mount point, as
// iproute2 does.
void prepare_netns_dir() {
  if (mkdir(kNetnsDir, 0755) != 0 && errno != EEXIST) fail("mkdir /run/netns");
  if (mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) == 0) return;
  if (errno != EINVAL) fail("make /run/netns shared");
  // Not a mount point yet: bind it onto itself first.
  if (mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) != 0)
    fail("bind /run/netns");
  if (mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) != 0)
    fail("make /run/netns shared");
}

}  // namespace

void create_named_netns(const std::string& name) {
  const std::string path = path_of(name);
  prepare_netns_dir();
  const int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) fail("create " + path);
  close(fd);

  // unshare() moves only the calling thread; doing it on a short-lived thread leaves this one
  // where it was, whatever happens.
  int err = 0;
  std::thread([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
      err = errno;
  }).join();
  if (err != 0) {
    unlink(path.c_str());
    fail("create network namespace " + name, err);
  }
}

bool delete_named_netns(const std::string& name) {
  const std::string path = path_of(name);
  if (access(path.c_str(), F_OK) != 0) return false;
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) fail("umount " + path);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink " + path);
  return true;
}

bool named_netns_exists(const std::string& name) {
  return access(path_of(name).c_str(), F_OK) == 0;
}

std::vector<std::string> list_named_netns() {
  std::vector<std::string> out;
  DIR* dir = opendir(kNetnsDir);
  if (!dir) return out;
  while (dirent* e = readdir(dir)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(dir);
  return out;
}

int open_named_netns(const std::string& name) {
  const std::string path = path_of(name);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open " + path);
  return fd;
}

NetnsGuard::NetnsGuard(const std::string& name) {
  previous_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (previous_ < 0) fail("open current network namespace");
  const int target = open_named_netns(name);
  const int rc = setns(target, CLONE_NEWNET);
  const int err = errno;
  close(target);
  if (rc != 0) {
    close(previous_);
    fail("enter network namespace " + name, err);
  }
}

NetnsGuard::~NetnsGuard() {
  // Failing to return would leave this thread in a namespace that is about to be deleted;
  // there is no way to continue correctly, so terminate loudly.
  if (setns(previous_, CLONE_NEWNET) != 0) std::terminate();
  close(previous_);
}

}  // namespace portway::netlink
