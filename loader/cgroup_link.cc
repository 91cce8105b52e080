#include "loader/cgroup_link.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>

#include "loader/error.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71  // glibc 2.36 headers predate it; the value is the kernel's ABI
#endif

namespace portway::loader {

std::optional<std::string> cgroup2_mount() {
  // mountinfo: id parent major:minor root mountpoint options [optional...] - fstype source ...
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mountpoint;
    head >> id >> parent >> dev >> root >> mountpoint;
    // A bind mount of a sub-tree (root != "/") is not the hierarchy's root.
    if (root == "/" && !mountpoint.empty()) return mountpoint;
  }
  return std::nullopt;
}

bool is_cgroup2(const std::string& path) {
  struct statfs st {};
  if (statfs(path.c_str(), &st) != 0) return false;
  return static_cast<unsigned long>(st.f_type) == CGROUP2_SUPER_MAGIC;
}

std::string ensure_cgroup2() {
  if (auto mounted = cgroup2_mount()) return *mounted;
  // A directory is a mount point when it sits on another device than its parent.
  auto is_mount_point = [](const std::string& dir, const std::string& parent) {
    struct stat a {}, b {};
    return stat(dir.c_str(), &a) == 0 && stat(parent.c_str(), &b) == 0 && a.st_dev != b.st_dev;
  };
  std::string target = "/sys/fs/cgroup";
  struct stat st {};
  if (stat(target.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || is_mount_point(target, "/sys/fs")) {
    target = "/run/portway/cgroup2";
    std::error_code ec;
    std::filesystem::create_directories(target, ec);
    if (ec) throw Error("create cgroup2 mount point", ec.value(), target);
  }
  if (mount("cgroup2", target.c_str(), "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    throw Error("mount cgroup2", errno,
                target + " (no cgroup v2 hierarchy is mounted; it is needed to balance the node's own "
                         "connections to frontends)");
  spdlog::info("mounted the cgroup v2 hierarchy at {} (none was mounted)", target);
  return target;
}

std::uint64_t cgroup_id_of(const std::string& path) {
  // struct file_handle ends in a flexible array: room for the 8-byte kernfs id.
  union {
    file_handle fh;
    char bytes[sizeof(file_handle) + sizeof(std::uint64_t)];
  } h{};
  h.fh.handle_bytes = sizeof(std::uint64_t);
  int mount_id = 0;
  if (name_to_handle_at(AT_FDCWD, path.c_str(), &h.fh, &mount_id, 0) != 0)
    throw Error("cgroup id", errno, path);
  std::uint64_t id = 0;
  std::memcpy(&id, h.fh.f_handle, sizeof id);
  return id;
}

UniqueFd attach_cgroup_link(int prog_fd, const std::string& cgroup_path, std::uint32_t attach_type) {
  UniqueFd cg{open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!cg) throw Error("open cgroup", errno, cgroup_path);
  const int fd = bpf_link_create(prog_fd, cg.get(), static_cast<bpf_attach_type>(attach_type), nullptr);
  if (fd < 0)
    throw Error("attach cgroup link", errno,
                cgroup_path + " (attach type " + std::to_string(attach_type) + ")");
  return UniqueFd{fd};
}

CgroupLinkInfo cgroup_link_info(int link_fd) {
  bpf_link_info info{};
  __u32 len = sizeof info;
  check(bpf_obj_get_info_by_fd(link_fd, &info, &len), "read cgroup link info");
  return {info.cgroup.cgroup_id, info.cgroup.attach_type, info.prog_id};
}

std::uint32_t cgroup_program_count(const std::string& cgroup_path, std::uint32_t attach_type) {
  UniqueFd cg{open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!cg) throw Error("open cgroup", errno, cgroup_path);
  __u32 count = 0;
  // No id array: the kernel only reports the count.
  check(bpf_prog_query(cg.get(), static_cast<bpf_attach_type>(attach_type), 0, nullptr, nullptr, &count),
        "query cgroup programs of " + cgroup_path);
  return count;
}

std::uint64_t current_netns_cookie() {
  UniqueFd s{socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (!s) throw Error("socket for the netns cookie", errno);
  std::uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(s.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
    throw Error("SO_NETNS_COOKIE", errno, "needs kernel >= 5.14");
  return cookie;
}

}  // namespace portway::loader
