// Address and route dumps over rtnetlink: what `ip addr` and `ip route` show, read without a
// subprocess, in the current network namespace.
#pragma once

#include <string>
#include <vector>

#include "net/node_addressing.h"

namespace portway::netlink {

// Every IPv4 and IPv6 address assigned to any link (IFA_LOCAL, else IFA_ADDRESS).
std::vector<net::InterfaceAddress> list_addresses();

// The main table's unicast routes out of the named links: each connected (gateway-less,
// non-default) destination prefix, and each gateway as a host prefix.
std::vector<net::InterfacePrefix> list_link_prefixes(const std::vector<std::string>& links);

// Both, for checking the service ranges against the node (model/service_ranges.h).
net::NodeAddressing read_node_addressing(const std::vector<std::string>& uplinks);

}  // namespace portway::netlink
