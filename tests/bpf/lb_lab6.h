// The IPv6 half of the LB lab (lb_lab.h): addresses from 2001:2::/48, frontends in
// pw_frontends6 (ids kFe6* of lb_lab.h), backend 0 (kSandbox) and 20 (the small-MTU one) with
// IPv6 addresses, their sets' IPv6 tables, frontend gens. Written with plain map updates: the
// loader's IPv6 accessors belong to another change.
//
//   pwup0: node addresses 2001:2:0:1::1 (PW_NODE_ADDR_HAIRPIN), 2001:2:0:1::2; the client
//          2001:2::1 a permanent neighbour (kClientMac) via 2001:2::/64
//   pwbk0: 2001:2:0:80::fe/64, sandbox 2001:2:0:80::1 (kSandboxMac); 2001:2:0:81::/64 routed
//          with MTU 1280 (locked), 2001:2:0:81::1 a neighbour (kSmallMtuMac)
#pragma once

#include <cstdint>

#include "lb_lab.h"
#include "packet6.h"

namespace portway::test::lb {

inline constexpr Ipv6Address kClient6 = lab6(0, 1);
inline constexpr Ipv6Address kNode6 = lab6(1, 1);   // PW_NODE_ADDR_HAIRPIN
inline constexpr Ipv6Address kNode6b = lab6(1, 2);
inline constexpr Ipv6Address kSvc6A = lab6(0xff, 0xa);  // backend 0
inline constexpr Ipv6Address kSvc6B = lab6(0xff, 0xb);  // declared, no backend
inline constexpr Ipv6Address kSvc6D = lab6(0xff, 0xd);  // backend 20, MTU 1280 route
inline constexpr Ipv6Address kElsewhere6 = lab6(0xee, 1);
inline constexpr Ipv6Address kSandbox6 = lab6(0x80, 1);
inline constexpr Ipv6Address kSmallMtu6 = lab6(0x81, 1);
inline constexpr std::uint16_t kSmallMtu6Value = 1280;
// fe.gen of every IPv6 frontend and pw_frontend_gens of its id after configure().
inline constexpr std::uint32_t kGen6 = 7;

// Called by LbLab's constructor inside the lab netns.
void lab6_topology();
// Called by LbLab::configure(): IPv6 conntrack emptied, the IPv6 configuration rewritten.
void configure6(LbLab& lab);
// pw_frontend_gens[id] = gen.
void set_frontend_gen(LbLab& lab, std::uint32_t id, std::uint32_t gen);
// Entries of pw_flows6.
[[nodiscard]] std::size_t flows6_count(LbLab& lab);

}  // namespace portway::test::lb
