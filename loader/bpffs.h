// The BPF filesystem where portway pins its maps and links. Debian mounts it at /sys/fs/bpf
// through systemd; minimal systems and containers often do not, and pinning then fails with a
// confusing EPERM. ensure_bpffs() checks the mount and mounts it when missing, as iproute2 and
// Cilium do, then creates portway's own folder.
//
// Pins only help if they outlive the process: `ip netns exec` runs its command in a mount
// namespace of its own with /sys remounted, so a bpffs mounted there (and every pin and XDP
// link in it) is gone when the command ends. ensure_bpffs() refuses that case
// (docs/operations.md "Where portway must run").
#pragma once

#include <stdexcept>
#include <string>

#include "errors/error.h"

namespace portway::loader {

inline constexpr const char* kBpffsRoot = "/sys/fs/bpf";

bool is_bpffs(const std::string& path);

// portway runs where its bpffs would not outlive it. The message names the way out.
class EphemeralMounts : public portway::Error {
 public:
  explicit EphemeralMounts(const std::string& message) : portway::Error(kExitEnvironment, message) {}
};

// Throws EphemeralMounts when this process is in another mount namespace than the node's
// init (PID 1; when that cannot be read, than the nearest ancestor in other mounts) and
// /sys/fs/bpf here is not the bpffs that process sees. Silent when nothing tells: the pins
// are then used as they are.
void check_bpffs_outlives_process();

// check_bpffs_outlives_process(), then mounts bpffs at /sys/fs/bpf if nothing BPF is mounted
// there (mode 0700), then creates `dir` (mode 0700) and its parents below the root. Throws
// loader::Error naming the step.
void ensure_bpffs(const std::string& dir);

}  // namespace portway::loader
