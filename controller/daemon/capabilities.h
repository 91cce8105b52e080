// The daemon's least privilege (docs/operations.md "Privileges"): it keeps CAP_BPF,
// CAP_NET_ADMIN and CAP_PERFMON and nothing else. CAP_SYS_ADMIN is used, when the process has
// it, only to mount bpffs or cgroup2 where they are missing, and dropped right after.
#pragma once

#include <linux/capability.h>

#include <array>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

#include "config/node_settings.h"

namespace portway::daemon {

// CAP_BPF: maps and programs. CAP_PERFMON: programs that read kernel memory through helpers
// and pointer arithmetic the verifier allows only with it. CAP_NET_ADMIN: XDP, tc, cgroup
// socket hooks, nftables, conntrack.
inline constexpr std::array<int, 3> kKeptCapabilities{CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON};

// A set of capabilities as /proc/PID/status prints it (bit n = capability n).
using CapabilityMask = std::uint64_t;

CapabilityMask mask_of(const std::vector<int>& caps);
inline CapabilityMask kept_mask() { return mask_of({kKeptCapabilities.begin(), kKeptCapabilities.end()}); }

// "cap_bpf,cap_net_admin" (libcap's names, ascending); "none" for an empty mask.
std::string capability_names(CapabilityMask mask);

struct ProcessCapabilities {
  CapabilityMask inheritable = 0, permitted = 0, effective = 0, bounding = 0, ambient = 0;
};

// Read from /proc/PID/status (0 = this process). Throws std::system_error when unreadable.
ProcessCapabilities capabilities_of(pid_t pid = 0);

struct LeastPrivilege {
  std::vector<std::string> mounted;  // what was mounted because it was missing
  CapabilityMask kept = 0;           // the effective set afterwards
  CapabilityMask missing = 0;        // kept capabilities the process never had
};

// What the daemon calls first, before it opens the store or touches the kernel: mounts bpffs
// at /sys/fs/bpf and the cgroup2 hierarchy (when `settings.cgroup` names none) if missing,
// using CAP_SYS_ADMIN for just that; then drops every capability but kKeptCapabilities from
// the effective, permitted, inheritable, ambient and (with CAP_SETPCAP) bounding sets, and
// sets no_new_privs. Works the same for root and for a dedicated user given the capabilities
// as ambient ones. Throws loader::Error when a needed mount fails (naming the privilege).
LeastPrivilege enter_least_privilege(const config::NodeSettings& settings);

}  // namespace portway::daemon
