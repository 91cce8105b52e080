// The connection tracking table of the current network namespace: its size, and a flush
// through ctnetlink (what `conntrack -F` sends). The rig empties the node's table before each
// nftables established measurement: an all-new variant before it leaves the table full
// (nf_conntrack_max entries, unreplied UDP lives 30 s), and an established flow measured
// against a full table pays another variant's early drops and garbage collection
// (docs/performance.md, "Packet rig").
#pragma once

#include <cstdint>

namespace portway::rig {

// Entries in the current namespace's table (/proc/sys/net/netfilter/nf_conntrack_count, which
// answers for the namespace of the reader); 0 when conntrack is not loaded.
std::uint64_t conntrack_entries();

// The current namespace's nf_conntrack_max; 0 when conntrack is not loaded.
std::uint64_t conntrack_max();

// Deletes every entry of both families in the current namespace's table. Throws
// netlink::NetlinkError when the kernel refuses.
void flush_conntrack();

}  // namespace portway::rig
