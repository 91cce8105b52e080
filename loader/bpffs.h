// The BPF filesystem where portway pins its maps and links. Debian mounts it at /sys/fs/bpf
// through systemd; minimal systems and containers often do not, and pinning then fails with a
// confusing EPERM. ensure_bpffs() checks the mount and mounts it when missing, as iproute2 and
// Cilium do, then creates portway's own folder.
#pragma once

#include <string>

namespace portway::loader {

inline constexpr const char* kBpffsRoot = "/sys/fs/bpf";

bool is_bpffs(const std::string& path);

// Mounts bpffs at /sys/fs/bpf if nothing BPF is mounted there (mode 0700), then creates `dir`
// (mode 0700) and its parents below the root. Throws loader::Error naming the step.
void ensure_bpffs(const std::string& dir);

}  // namespace portway::loader
