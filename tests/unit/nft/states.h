// Desired states for the nft tests, built directly (no store), in the lab's address ranges.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "state/dataplane_state.h"

namespace portway::dataplane::nft::testing {

using config::Protocol;
using state::MemberState;

net::Ipv4 ip(const char* s);
state::Member member(const char* addr, MemberState st = MemberState::running);
state::Frontend frontend(const char* addr, std::uint16_t port, Protocol p, std::uint16_t target,
                         const std::string& set, const std::string& port_name = "p");
state::NodePort node_port(std::uint16_t port, Protocol p, std::uint16_t target, const std::string& set,
                          const std::string& port_name = "p");

// Two Services: svc/irc/irc (198.19.0.7: 6667/tcp, 6697/tcp -> 7000 with node port 30697,
// 53/udp -> 5353; two running backends, one draining) and svc/pg/db (198.19.0.8:5432/tcp,
// no backend at all).
state::DataplaneState small_state();
// Both families: IPv4 and IPv6 frontends on one set whose members have an IPv6 address or not,
// a draining dual-stack member, an IPv6-only Service without members, a node port.
state::DataplaneState small_dual_state();

// `services` Services with `ports` tcp ports each and `backends` running backends each;
// addresses from 10.64.0.0/10 (services) and 10.128.0.0/9 (backends) so thousands fit.
state::DataplaneState scaled_state(unsigned services, unsigned ports, unsigned backends);

// `s` with the backend set `id` given `members`.
state::DataplaneState with_members(const state::DataplaneState& s, const std::string& id,
                                   std::vector<state::Member> members);

}  // namespace portway::dataplane::nft::testing
