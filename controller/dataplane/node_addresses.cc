#include "dataplane/node_addresses.h"

#include "netlink/links.h"

namespace portway::dataplane {
namespace {

template <class Address, class Parse, class FromUplink>
std::vector<Address> node_addresses_of(const config::NodeSettings& settings, Parse parse,
                                       FromUplink from_uplink) {
  std::vector<Address> out;
  for (const auto& a : settings.node_addresses)
    if (auto parsed = parse(a)) out.push_back(*parsed);
  if (settings.node_addresses.empty()) {
    for (const auto& name : settings.uplinks)
      if (unsigned idx = netlink::ifindex_of(name))
        for (const auto& a : from_uplink(idx)) out.push_back(a);
  }
  return out;
}

}  // namespace

std::vector<net::Ipv4> node_ipv4_addresses(const config::NodeSettings& settings) {
  return node_addresses_of<net::Ipv4>(
      settings, [](const std::string& s) { return net::parse_ipv4(s); }, netlink::ipv4_addresses);
}

std::vector<net::Ipv6> node_ipv6_addresses(const config::NodeSettings& settings) {
  return node_addresses_of<net::Ipv6>(
      settings, [](const std::string& s) { return net::parse_ipv6(s); }, netlink::ipv6_addresses);
}

}  // namespace portway::dataplane
