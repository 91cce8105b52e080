// The kernel's connection tracking table over netlink (libnetfilter-conntrack), bound to the
// network namespace that was current when it was opened. It ends the NATed flows of a
// removed backend: without it a UDP "flow" (any datagram within the timeout) would stick to
// a dead backend for minutes, the classic kube-proxy bug.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "dataplane/conntrack/flow_match.h"
#include "dataplane/conntrack/nat_flow.h"
#include "dataplane/listed_flow.h"

struct nfct_handle;

namespace portway::dataplane::conntrack {

class ConntrackTable {
 public:
  ConntrackTable();  // throws std::system_error
  ~ConntrackTable();
  ConntrackTable(const ConntrackTable&) = delete;
  ConntrackTable& operator=(const ConntrackTable&) = delete;

  // Deletes every IPv4 entry with a destination NAT that one of `matches` selects; returns
  // how many it deleted (entries that expired meanwhile are not counted). Throws
  // std::system_error when the table cannot be read.
  std::size_t delete_flows(std::span<const FlowMatch> matches);

  // Every IPv4 TCP/UDP entry of zone 0 (portway's table uses no zone) that carries a
  // destination NAT, except TCP entries that are closing down (TIME_WAIT, CLOSE). `idle` is 0.
  // Throws std::system_error when the table cannot be read.
  std::vector<NatFlow> nat_flows();
  // The same for IPv6 entries (the hand-off carries both families).
  std::vector<NatFlow6> nat_flows6();

  // Every TCP/UDP entry of zone 0 of either family with a destination NAT (one nat_flows()
  // or nat_flows6() reads), closing ones included, with its state and the time it has left
  // (`portway dump flows`). Throws std::system_error when
  // the table cannot be read.
  std::vector<ListedFlow> listed_flows();

  // Writes each flow as an entry with its NAT, TCP state established and window tracking
  // liberal in both directions (it is picked up mid-stream: conntrack has seen no SYN and no
  // window), the reply seen and assured. An entry that exists with the same translation is
  // made liberal and established again; one with another translation, or one whose reply
  // tuple clashes, is replaced: the flow's own dataplane is the truth. Needs the nf_nat module
  // (any nat chain loads it).
  SeedCounts seed(std::span<const NatFlow> flows, const SeedTimeouts& timeouts);
  SeedCounts seed(std::span<const NatFlow6> flows, const SeedTimeouts& timeouts);

  // Makes the window tracking of each TCP flow's entry liberal in both directions, nothing
  // else changed; UDP flows are skipped. For the switch to the fast path: once the sandbox
  // interfaces run the tc program, replies bypass conntrack, and a client's next segment
  // acknowledges data conntrack never saw. A strict entry calls it invalid, which nftables
  // does not translate: to a node port it reaches the node's own stack and is answered with a
  // reset. Returns how many entries the kernel refused (gone meanwhile, or never there).
  std::size_t loosen(std::span<const NatFlow> flows);
  std::size_t loosen(std::span<const NatFlow6> flows);

 private:
  nfct_handle* handle_;
};

}  // namespace portway::dataplane::conntrack
