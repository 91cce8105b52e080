// cgroup v2 attachments as pinned bpf_links (the socket hooks of host-originated connections),
// plus the two facts they need: where the cgroup v2 hierarchy is mounted, and the cookie of the
// network namespace the caller runs in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "loader/unique_fd.h"

namespace portway::loader {

// The mount point of the cgroup v2 hierarchy (/proc/self/mountinfo): /sys/fs/cgroup on a
// unified system, /sys/fs/cgroup/unified on a hybrid one; nullopt when none is mounted.
[[nodiscard]] std::optional<std::string> cgroup2_mount();

// Whether `path` is a directory of the cgroup v2 hierarchy (statfs: CGROUP2_SUPER_MAGIC).
[[nodiscard]] bool is_cgroup2(const std::string& path);

// cgroup2_mount(), or, when no cgroup v2 hierarchy is mounted, mounts it (at /sys/fs/cgroup
// when nothing is mounted there, else at /run/portway/cgroup2) and returns where, as for
// bpffs. The hierarchy is one for the whole system: the mount point only names it, so a
// mount of our own is as good as the node's. Throws loader::Error.
[[nodiscard]] std::string ensure_cgroup2();

// The cgroup id of a cgroup v2 directory (what bpf_link_info reports), via its file handle:
// the kernfs node id, which is the inode number only on 64-bit kernels.
[[nodiscard]] std::uint64_t cgroup_id_of(const std::string& path);

// Attaches `prog_fd` to the cgroup directory `cgroup_path` for `attach_type`
// (BPF_CGROUP_INET4_CONNECT, ...) as a bpf_link; other programs on that cgroup stay (links
// are always multi-attach). Throws loader::Error.
[[nodiscard]] UniqueFd attach_cgroup_link(int prog_fd, const std::string& cgroup_path,
                                          std::uint32_t attach_type);

struct CgroupLinkInfo {
  std::uint64_t cgroup_id = 0;
  std::uint32_t attach_type = 0;
  std::uint32_t prog_id = 0;
};
[[nodiscard]] CgroupLinkInfo cgroup_link_info(int link_fd);

// How many programs are attached to the cgroup directory for `attach_type` (BPF_PROG_QUERY;
// links and plain attachments alike, not inherited ones).
[[nodiscard]] std::uint32_t cgroup_program_count(const std::string& cgroup_path,
                                                 std::uint32_t attach_type);

// SO_NETNS_COOKIE (kernel >= 5.14) of the calling thread's network namespace: the value
// bpf_get_netns_cookie returns for sockets created there.
[[nodiscard]] std::uint64_t current_netns_cookie();

}  // namespace portway::loader
