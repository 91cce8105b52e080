// Node ports kept out of the node's own ephemeral ports (net.ipv4.ip_local_reserved_ports,
// per network namespace), as kube-proxy users are told to do for the NodePort range.
//
// Why: node ports may be any number (docs/config.md). If the kernel gave one to an outgoing
// connection of the node itself, the replies (to node address : that port) would look like
// new node-port traffic to the fast path, which keeps no state about the node's own
// connections, and be translated to a backend. nftables is immune (conntrack sees replies),
// but the port is reserved for both dataplanes alike.
//
// The sysctl is shared with the administrator: portway adds the ports it claims, removes only
// the ones it added earlier and no longer claims (recorded in a file next to the state), and
// leaves every other reservation as it was.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "state/dataplane_state.h"

namespace portway::agent {

using PortSet = std::set<std::uint16_t>;

// "8080,30000-30002" <-> {8080, 30000, 30001, 30002}. Parsing throws std::invalid_argument on
// anything else (the kernel's own format: comma-separated ports and ranges, maybe spaces).
PortSet parse_port_ranges(std::string_view text);
std::string format_port_ranges(const PortSet& ports);

struct ReservedPortsPlan {
  PortSet value;  // what the sysctl should hold
  PortSet ours;   // what portway added and must remove once it no longer claims them
};

// current: the sysctl now; previously_ours: the record of the last run; wanted: the node
// ports claimed now. A port the administrator had reserved is never counted as ours.
ReservedPortsPlan plan_reserved_ports(const PortSet& current, const PortSet& previously_ours,
                                      const PortSet& wanted);

// The node ports of a compiled state (TCP and UDP alike: the reservation covers both).
PortSet node_ports_of(const state::DataplaneState& s);

// Reads the sysctl of the calling thread's namespace and the record at `record_path`, writes
// the plan's value (only when it changes) and then the record. Throws std::system_error /
// std::invalid_argument; the record is written only after the sysctl.
void reserve_node_ports(const state::DataplaneState& desired, const std::string& record_path);

// <directory of the state database>/reserved-ports
std::string reserved_ports_record_path(const std::string& state_path);

}  // namespace portway::agent
