#include "loader/bpffs.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <optional>

#include "loader/error.h"

namespace portway::loader {
namespace {

// "mnt:[4026531841]"; nullopt when unreadable (no ptrace access to that process).
std::optional<std::string> mount_namespace(const std::string& pid) {
  char buf[64];
  const ssize_t n = readlink(("/proc/" + pid + "/ns/mnt").c_str(), buf, sizeof buf);
  if (n <= 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

pid_t parent_of(pid_t pid) {
  // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 1));
  char state = 0;
  long ppid = 0;
  rest >> state >> ppid;
  return static_cast<pid_t>(ppid);
}

// A process that sees the node's mounts, when this one runs in other mounts: PID 1 when its
// mount namespace can be read, else the nearest ancestor in another mount namespace (what
// ran `ip netns exec`, `unshare -m`). nullopt: our mounts are the node's, or nothing tells.
std::optional<pid_t> process_outside_our_mounts() {
  const auto self = mount_namespace("self");
  if (!self) return std::nullopt;
  if (const auto init = mount_namespace("1")) return *init == *self ? std::nullopt : std::optional<pid_t>(1);
  // No access to PID 1 (a sandbox or a restricted root): our own ancestors tell.
  for (pid_t pid = getppid(); pid > 1; pid = parent_of(pid)) {
    const auto theirs = mount_namespace(std::to_string(pid));
    if (!theirs) return std::nullopt;
    if (*theirs != *self) return pid;
  }
  return std::nullopt;
}

std::optional<dev_t> bpffs_device(const std::string& path) {
  struct stat st {};
  if (!is_bpffs(path) || stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_dev;
}

}  // namespace

bool is_bpffs(const std::string& path) {
  struct statfs st {};
  if (statfs(path.c_str(), &st) != 0) return false;
  return static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

void check_bpffs_outlives_process() {
  // The node's own mounts (or a container whose init shares ours): a bpffs mounted here
  // lives as long as the namespace that the node, or the container, runs in.
  const std::optional<pid_t> outside = process_outside_our_mounts();
  if (!outside) return;
  // Each bpffs mount is its own instance: the same device number means the same pins.
  const auto ours = bpffs_device(kBpffsRoot);
  const auto nodes = bpffs_device("/proc/" + std::to_string(*outside) + "/root" + kBpffsRoot);
  if (ours && nodes && *ours == *nodes) return;
  throw EphemeralMounts(
      std::string("portway runs in a mount namespace of its own in which ") + kBpffsRoot +
      (ours ? " is a BPF filesystem the node does not see" : " is not the node's BPF filesystem") +
      " (`ip netns exec` does this: it remounts /sys); pins and XDP links made here would vanish "
      "when this command exits. Enter only the network namespace instead: "
      "`nsenter --net=/run/netns/NAME portway ...`" +
      (nodes ? "" : std::string(", after mounting bpffs on the node (mount -t bpf bpf ") + kBpffsRoot + ")"));
}

void ensure_bpffs(const std::string& dir) {
  const std::string root = kBpffsRoot;
  if (dir.rfind(root + "/", 0) != 0) throw Error("pin folder", EINVAL, dir + " is not under " + root);
  check_bpffs_outlives_process();
  if (!is_bpffs(root)) {
    if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) throw Error("mkdir", errno, root);
    if (mount("bpf", root.c_str(), "bpf", 0, "mode=0700") != 0)
      throw Error("mount bpffs", errno, root);
    spdlog::info("mounted the BPF filesystem at {} (it was not mounted)", root);
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("create pin folder", ec.value(), dir);
  if (chmod(dir.c_str(), 0700) != 0) throw Error("chmod", errno, dir);
}

}  // namespace portway::loader
