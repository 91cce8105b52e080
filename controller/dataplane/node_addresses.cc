#include "dataplane/node_addresses.h"

#include "netlink/links.h"

namespace portway::dataplane {

std::vector<net::Ipv4> node_ipv4_addresses(const config::NodeSettings& settings) {
  std::vector<net::Ipv4> out;
  for (const auto& a : settings.node_addresses)
    if (auto v4 = net::parse_ipv4(a)) out.push_back(*v4);
  if (settings.node_addresses.empty()) {
    for (const auto& name : settings.uplinks)
      if (unsigned idx = netlink::ifindex_of(name))
        for (const auto& a : netlink::ipv4_addresses(idx)) out.push_back(a);
  }
  return out;
}

std::vector<net::Ipv6> node_ipv6_addresses(const config::NodeSettings& settings) {
  std::vector<net::Ipv6> out;
  for (const auto& a : settings.node_addresses)
    if (auto v6 = net::parse_ipv6(a)) out.push_back(*v6);
  if (settings.node_addresses.empty()) {
    for (const auto& name : settings.uplinks)
      if (unsigned idx = netlink::ifindex_of(name))
        for (const auto& a : netlink::ipv6_global_addresses(idx)) out.push_back(a);
  }
  return out;
}

}  // namespace portway::dataplane
