// The service ranges (service_cidr, service_cidr6) against the live node (docs/model.md "Service
// ranges and the node"): a range that holds one of the node's own addresses, or a network its
// uplinks reach directly, would hand out an address the node or a neighbour already answers
// to, and once synced the node's own traffic (SSH included) lands on a Service. Pure functions
// over what netlink/addressing.h reads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "net/ip_prefix.h"
#include "net/node_addressing.h"

namespace portway::model {

bool overlaps(const net::IpPrefix& a, const net::IpPrefix& b);
bool contains(const net::IpPrefix& p, const net::IpAddress& a);

// One sentence per overlap (deduplicated, in the order found); empty when the ranges are safe.
std::vector<std::string> service_range_overlaps(const net::Ipv4Prefix& service_cidr,
                                                const std::optional<net::Ipv6Prefix>& service_cidr6,
                                                const net::NodeAddressing& node);

}  // namespace portway::model
