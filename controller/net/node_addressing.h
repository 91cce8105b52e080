// What the live node uses of the address space, as plain values: the addresses assigned to its
// interfaces and the prefixes its uplinks reach directly (their neighbours). Filled from the
// kernel by netlink/addressing.h, checked against the service ranges by model/service_ranges.h.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "net/ip_prefix.h"

namespace portway::net {

using IpAddress = std::variant<Ipv4, Ipv6>;
using IpPrefix = std::variant<Ipv4Prefix, Ipv6Prefix>;

struct InterfaceAddress {
  std::string iface;
  IpAddress address;
};

struct InterfacePrefix {
  std::string iface;
  IpPrefix prefix;  // a connected route, or a gateway as a host prefix (/32, /128)
};

struct NodeAddressing {
  std::vector<InterfaceAddress> addresses;      // every interface, lo included
  std::vector<InterfacePrefix> uplink_prefixes;  // only the uplinks'
};

}  // namespace portway::net
