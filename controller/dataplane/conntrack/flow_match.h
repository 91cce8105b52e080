// Which NATed flows to end when a backend or a frontend goes away (docs/dataplane.md "Semantics": a
// removed backend's UDP flows re-balance within 1 s, its TCP flows get a reset on the next packet).
// Pure: the conntrack table code below feeds it tuples; the tests feed it by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>

#include "net/ip_prefix.h"

namespace portway::dataplane::conntrack {

using Address = std::variant<net::Ipv4, net::Ipv6>;  // a flow of either family

// A conntrack entry as far as matching goes. Ports in host order.
struct FlowTuple {
  std::uint8_t protocol = 0;  // IPPROTO_TCP / IPPROTO_UDP
  Address original_dst;       // what the client sent to (a frontend)
  std::uint16_t original_dport = 0;
  Address reply_src;          // who answers (after DNAT: the backend)
  std::uint16_t reply_sport = 0;
  bool dnat = false;          // the entry carries a destination NAT
};

// Unset fields match anything; only DNATed entries ever match.
struct FlowMatch {
  std::uint8_t protocol = 0;
  std::optional<Address> original_dst;
  std::optional<std::uint16_t> original_dport;
  std::optional<Address> reply_src;
  std::optional<std::uint16_t> reply_sport;

  bool matches(const FlowTuple& t) const;
  auto operator<=>(const FlowMatch&) const = default;
};

bool matches_any(std::span<const FlowMatch> ms, const FlowTuple& t);

}  // namespace portway::dataplane::conntrack
