// The kernel's connection tracking table over netlink (libnetfilter-conntrack), bound to the
// network namespace that was current when it was opened. Used to end the NATed flows of a
// removed backend: without it a UDP "flow" (any datagram within the timeout) would stick to
// a dead backend for minutes, the classic kube-proxy bug.
#pragma once

#include <cstddef>
#include <span>

#include "dataplane/conntrack/flow_match.h"

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

 private:
  nfct_handle* handle_;
};

}  // namespace portway::dataplane::conntrack
