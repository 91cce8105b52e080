#include "model/service_ranges.h"

#include <algorithm>

namespace portway::model {
namespace {

std::string text(const net::IpPrefix& p) {
  return std::visit([](const auto& v) { return net::to_string(v); }, p);
}
std::string text(const net::IpAddress& a) {
  return std::visit([](const auto& v) { return net::to_string(v); }, a);
}

std::uint8_t length_of(const net::IpPrefix& p) {
  return std::visit([](const auto& v) { return v.length; }, p);
}

bool is_host(const net::IpPrefix& p) {
  return length_of(p) == (std::holds_alternative<net::Ipv4Prefix>(p) ? 32 : 128);
}

}  // namespace

bool contains(const net::IpPrefix& p, const net::IpAddress& a) {
  if (const auto* p4 = std::get_if<net::Ipv4Prefix>(&p)) {
    const auto* a4 = std::get_if<net::Ipv4>(&a);
    return a4 && p4->contains(*a4);
  }
  const auto* a6 = std::get_if<net::Ipv6>(&a);
  return a6 && std::get<net::Ipv6Prefix>(p).contains(*a6);
}

bool overlaps(const net::IpPrefix& a, const net::IpPrefix& b) {
  if (a.index() != b.index()) return false;
  // Two prefixes overlap exactly when the shorter one contains the longer one's network.
  const net::IpPrefix& shorter = length_of(a) <= length_of(b) ? a : b;
  const net::IpPrefix& longer = length_of(a) <= length_of(b) ? b : a;
  const net::IpAddress network =
      std::visit([](const auto& v) -> net::IpAddress { return v.network; }, longer);
  return contains(shorter, network);
}

namespace {

// A gateway-less route whose destination lies inside the range (the range itself, or part
// of it) and holds none of the node's addresses is how a node without a default route sends
// its own connections to service addresses out of the uplink: a route of the range, not a
// network of neighbours. A network wider than the range, or one the node has an address in
// (a connected network), still counts.
bool routes_part_of_range(const net::IpPrefix& range, const net::IpPrefix& route,
                          const net::NodeAddressing& node) {
  if (length_of(route) < length_of(range)) return false;
  for (const auto& a : node.addresses)
    if (contains(route, a.address)) return false;
  return true;
}

}  // namespace

std::vector<std::string> service_range_overlaps(const net::Ipv4Prefix& service_cidr,
                                                const std::optional<net::Ipv6Prefix>& service_cidr6,
                                                const net::NodeAddressing& node) {
  std::vector<std::pair<std::string, net::IpPrefix>> ranges{{"service_cidr", service_cidr}};
  if (service_cidr6) ranges.emplace_back("service_cidr6", *service_cidr6);
  std::vector<std::string> out;
  auto add = [&](std::string line) {
    if (std::find(out.begin(), out.end(), line) == out.end()) out.push_back(std::move(line));
  };
  for (const auto& [key, range] : ranges) {
    const std::string head = key + " " + text(range);
    for (const auto& a : node.addresses) {
      if (!contains(range, a.address)) continue;
      add(head + " contains " + text(a.address) + ", an address of " + a.iface +
          ": a Service given it would take the node's own traffic (SSH included); choose a " +
          key + " that no interface of the node uses");
    }
    for (const auto& p : node.uplink_prefixes) {
      if (!overlaps(range, p.prefix)) continue;
      if (is_host(p.prefix)) {
        add(head + " contains " + text(p.prefix).substr(0, text(p.prefix).find('/')) +
            ", a gateway reached through uplink " + p.iface + "; choose a " + key +
            " outside the uplinks' networks");
      } else if (!routes_part_of_range(range, p.prefix, node)) {
        add(head + " overlaps " + text(p.prefix) + ", the network of uplink " + p.iface +
            " (its neighbours' addresses); choose a " + key + " outside the uplinks' networks");
      }
    }
  }
  return out;
}

}  // namespace portway::model
