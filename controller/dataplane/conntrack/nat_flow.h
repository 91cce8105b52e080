// A translated flow as both dataplanes can hold it: the client's connection to a frontend, the
// backend it was sent to and, for a hairpinned sandbox, the source it was rewritten to. The
// hand-off between the dataplanes (docs/operations.md "Switching the dataplane") moves these
// from the fast path's flow table into kernel conntrack and back. Ports in host order.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "net/ip_prefix.h"

namespace portway::dataplane::conntrack {

// `Addr` is net::Ipv4 or net::Ipv6: the two families' flows have the same shape.
template <typename Addr>
struct BasicNatFlow {
  std::uint8_t protocol = 0;  // IPPROTO_TCP / IPPROTO_UDP
  Addr client;                // original source
  std::uint16_t client_port = 0;
  Addr frontend;              // original destination: service address or node address
  std::uint16_t frontend_port = 0;
  Addr backend;               // destination NAT
  std::uint16_t backend_port = 0;
  std::optional<Addr> snat;   // hairpin: source NAT to (snat, client_port)
  std::chrono::milliseconds idle{0};  // since the flow's last packet (only seeding uses it)

  // Same translation (idle aside).
  bool same_nat(const BasicNatFlow& o) const {
    return protocol == o.protocol && client == o.client && client_port == o.client_port &&
           frontend == o.frontend && frontend_port == o.frontend_port && backend == o.backend &&
           backend_port == o.backend_port && snat == o.snat;
  }
};
using NatFlow = BasicNatFlow<net::Ipv4>;
using NatFlow6 = BasicNatFlow<net::Ipv6>;

// How long a seeded entry lives without traffic: the namespace's own conntrack timeouts for an
// established TCP connection and a UDP stream, less the time the flow has been idle, as if
// conntrack had seen its last packet.
struct SeedTimeouts {
  std::chrono::seconds tcp_established{432000};
  std::chrono::seconds udp_stream{120};
  // Read from /proc/sys/net/netfilter of the calling thread's namespace; defaults if absent.
  static SeedTimeouts of_current_netns();
};

// What a seeding pass did.
struct SeedCounts {
  std::size_t created = 0;   // new entries
  std::size_t refreshed = 0; // an entry with the same translation existed: made liberal
  std::size_t replaced = 0;  // an entry with another translation (or a clashing reply) was replaced
  std::size_t expired = 0;   // idle for longer than the timeout: not seeded
  std::size_t superseded = 0;  // another flow with the same reply tuple was more recently active
  std::size_t failed = 0;    // the kernel refused the entry
};

}  // namespace portway::dataplane::conntrack
