// The cgroup socket hooks of the fast path (bpf/lib/sock_lb.h): processes on the node reach
// frontends through them, since their packets never cross an uplink or a sandbox interface.
// Attached as bpf_links on the node setting `cgroup` (default: the cgroup v2 root, i.e. every
// process), pinned under <bpffs_dir>/links/cgroup-<hook>, and scoped to the network namespace
// portway runs in through pw_sock_config.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "config/node_settings.h"
#include "dataplane/xdp/pin_layout.h"
#include "loader/unique_fd.h"
#include "state/diff.h"

namespace portway::dataplane::xdp {

struct SocketHook {
  const char* name;     // pin and status name: connect4, sendmsg4, recvmsg4, getpeername4,
                        // and their IPv6 counterparts connect6 ... getpeername6
  const char* program;  // the program in portway_lb
  std::uint32_t attach_type;  // BPF_CGROUP_*
};
extern const std::array<SocketHook, 8> kSocketHooks;

// The programs of kSocketHooks, in that order.
using SocketPrograms = std::array<loader::UniqueFd, 8>;

// The cgroup the hooks go on: the setting (which must be a cgroup v2 directory), or the cgroup
// v2 mount, mounted when none is (loader::ensure_cgroup2). Throws loader::Error otherwise:
// without the hooks the node's own connections would not be balanced, so the fast path is
// incomplete and `auto` falls back to nftables.
std::string socket_hook_cgroup(const config::NodeSettings& settings);

// Attaches (or upgrades in place, or moves to another cgroup: the new link is attached
// before the old one goes) every hook, re-pins a hook whose pin was deleted while it still
// runs, then points pw_sock_config at the calling thread's network namespace. Idempotent.
void attach_socket_hooks(const PinLayout& pins, const SocketPrograms& progs,
                         const std::string& cgroup, std::vector<std::string>& notes);

// Ends the node's sockets that the hooks pointed at a backend removed by `applied` (not at a
// draining one): TCP gets a reset and fails its next call with ECONNABORTED; a connected UDP
// socket is disconnected (pending error ECONNABORTED, send() without an address then fails
// with EDESTADDRREQ). The client reconnects and is balanced again, as the packet path
// resets TCP flows and re-balances UDP flows of a removed backend (docs/dataplane.md "Semantics").
// Only sockets of the calling thread's namespace with a pw_sock_reverse (IPv6 sockets:
// pw_sock_reverse6) entry are touched. Returns how many were ended.
std::size_t end_sockets_of_removed_backends(const PinLayout& pins, const state::StateDiff& applied);

struct SocketHookAttachment {
  std::string hook;  // "cgroup-connect4", ...
  std::uint64_t cgroup_id = 0;
};
// The pinned hook links that exist (for status).
std::vector<SocketHookAttachment> socket_hook_attachments(const PinLayout& pins);

}  // namespace portway::dataplane::xdp
