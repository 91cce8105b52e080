// One translated flow as `portway dump flows` shows it, read from either dataplane's flow
// table: the fast path's pw_flows and pw_flows6 (dataplane/xdp/flow_listing.h) or kernel conntrack for
// nftables (ConntrackTable::listed_flows). Ports in host order.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "net/node_addressing.h"

namespace portway::dataplane {

struct ListedFlow {
  std::uint8_t protocol = 0;  // IPPROTO_TCP / IPPROTO_UDP
  // One family per flow (the fast path keeps IPv6 flows in pw_flows6).
  net::IpAddress client;      // as the client sent it
  std::uint16_t client_port = 0;
  net::IpAddress frontend;    // original destination: service address or node address
  std::uint16_t frontend_port = 0;
  net::IpAddress backend;     // where it was translated to
  std::uint16_t backend_port = 0;
  std::optional<net::IpAddress> snat;  // hairpin: the node address the client was rewritten to
  // conntrack: the TCP state ("ESTABLISHED") or, for UDP, "ASSURED"/"UNREPLIED"; the fast
  // path keeps no TCP state: "" or "backend gone" (its backend slot now holds another address).
  std::string state;
  std::optional<std::chrono::milliseconds> idle;  // fast path: since the client's last packet
  std::optional<std::chrono::seconds> expires;    // conntrack: time left without traffic
};

}  // namespace portway::dataplane
