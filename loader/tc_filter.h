// A tc (clsact) BPF filter on one interface and direction, identified by portway's own handle
// and priority so that it replaces only itself and removes only itself (other tc users on the
// same interface are left alone). Debian 12's libbpf 1.1 has no tcx: this is netlink tc.
#pragma once

#include <cstdint>

namespace portway::loader {

enum class TcDirection : std::uint8_t { ingress, egress };

// portway's filter identity: a handle no one else is likely to pick, and a priority.
inline constexpr std::uint32_t kPortwayTcHandle = 0x7077;  // "pw"
inline constexpr std::uint32_t kPortwayTcPriority = 0x7077;

struct TcAttachResult {
  bool created_clsact = false;  // the clsact qdisc did not exist before
};

// Ensures a clsact qdisc and attaches (or atomically replaces) portway's filter. Throws
// loader::Error.
TcAttachResult attach_tc(int ifindex, TcDirection dir, int prog_fd);

// The program id of portway's filter there, 0 when none.
std::uint32_t tc_program_id(int ifindex, TcDirection dir);

// Removes portway's filter; removes the clsact qdisc too when `destroy_clsact` (the caller
// created it). A vanished interface took everything with it: not an error.
void detach_tc(int ifindex, TcDirection dir, bool destroy_clsact);

}  // namespace portway::loader
