// One translated flow as `portway dump flows` shows it, read from either dataplane's flow
// table: the fast path's pw_flows (dataplane/xdp/flow_listing.h) or kernel conntrack for
// nftables (ConntrackTable::listed_flows). Ports in host order.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "net/ip_prefix.h"

namespace portway::dataplane {

using FlowAddress = std::variant<net::Ipv4, net::Ipv6>;  // a flow of either family (state::IpAddress)
inline std::string to_string(const FlowAddress& a) {
  return std::visit([](const auto& x) { return net::to_string(x); }, a);
}

struct ListedFlow {
  std::uint8_t protocol = 0;  // IPPROTO_TCP / IPPROTO_UDP
  FlowAddress client;         // as the client sent it
  std::uint16_t client_port = 0;
  FlowAddress frontend;       // original destination: service address or node address
  std::uint16_t frontend_port = 0;
  FlowAddress backend;        // where it was translated to
  std::uint16_t backend_port = 0;
  std::optional<FlowAddress> snat;  // hairpin: the node address the client was rewritten to
  // conntrack: the TCP state ("ESTABLISHED") or, for UDP, "ASSURED"/"UNREPLIED"; the fast
  // path keeps no TCP state: "" or "backend gone" (its backend slot now holds another address).
  std::string state;
  std::optional<std::chrono::milliseconds> idle;  // fast path: since the client's last packet
  std::optional<std::chrono::seconds> expires;    // conntrack: time left without traffic
};

}  // namespace portway::dataplane
