// Helpers of the IPv6 fixture tables (lb_fixtures_ipv6*.cc): client packets, what XDP forwards
// for them, and the SYN that opens the flow later steps use.
#pragma once

#include <map>
#include <utility>

#include "lb_fixture.h"
#include "lb_lab6.h"

namespace portway::test::lb {

inline Packet6 client6(const Ipv6Address& dst, std::uint16_t dport) {
  return Packet6{}.src_mac(kClientMac).dst_mac(kNodeMac).src(kClient6).dst(dst).src_port(40000)
      .dst_port(dport);
}

// What XDP forwards to the sandbox for `b` (a client packet): destination = backend 0 and the
// target port, hop limit - 1, next-hop MACs.
inline Packet6 to_sandbox(Packet6 b, std::uint16_t target) {
  return b.dst(kSandbox6).dst_port(target).hop_limit(63).src_mac(kHostVethMac)
      .dst_mac(kSandboxMac);
}

// A client's SYN to dst:port (frontend `fe`) through XDP, redirected to backend 0.
inline Step syn6(const Ipv6Address& dst, std::uint16_t port, std::uint32_t fe) {
  const auto b = client6(dst, port);
  return {Hook::kXdp, b.tcp(), kXdpRedirect, to_sandbox(b, kTargetTcp).tcp(),
          with_events(forwarded(fe, kBeSandbox, b.tcp().size(), true),
                      {{PW_EV_FLOW6_INSERTS, 1}, {PW_EV_XDP_REDIRECT, 1}})};
}

}  // namespace portway::test::lb
