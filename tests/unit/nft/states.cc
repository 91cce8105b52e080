#include "states.h"

#include <stdexcept>

namespace portway::dataplane::nft::testing {

net::Ipv4 ip(const char* s) {
  const auto a = net::parse_ipv4(s);
  if (!a) throw std::invalid_argument(s);
  return *a;
}

state::Member member(const char* addr, MemberState st) { return {ip(addr), std::nullopt, st}; }

state::Frontend frontend(const char* addr, std::uint16_t port, Protocol p, std::uint16_t target,
                         const std::string& set, const std::string& port_name) {
  return {{ip(addr), port, p}, target, set, port_name};
}

state::NodePort node_port(std::uint16_t port, Protocol p, std::uint16_t target, const std::string& set,
                          const std::string& port_name) {
  return {{port, p}, target, set, port_name};
}

state::DataplaneState small_state() {
  return state::DataplaneState::from_parts(
      {frontend("198.19.0.7", 6667, Protocol::tcp, 6667, "svc/irc/irc", "irc"),
       frontend("198.19.0.7", 6697, Protocol::tcp, 7000, "svc/irc/irc", "ircs"),
       frontend("198.19.0.7", 53, Protocol::udp, 5353, "svc/irc/irc", "dns"),
       frontend("198.19.0.8", 5432, Protocol::tcp, 5432, "svc/pg/db", "pg")},
      {node_port(30697, Protocol::tcp, 7000, "svc/irc/irc", "ircs")},
      {{"svc/irc/irc",
        {member("198.18.10.2"), member("198.18.11.2"), member("198.18.12.2", MemberState::draining)}},
       {"svc/pg/db", {}}});
}

state::DataplaneState small_dual_state() {
  const auto dual = [](const char* v4, const char* v6, MemberState st = MemberState::running) {
    state::Member m = member(v4, st);
    m.ipv6 = net::parse_ipv6(v6).value();
    return m;
  };
  const auto frontend6 = [](const char* v6, std::uint16_t port, Protocol p, std::uint16_t target, const char* set,
                            const char* name) {
    return state::Frontend{{net::parse_ipv6(v6).value(), port, p}, target, set, name};
  };
  return state::DataplaneState::from_parts(
      {frontend("198.19.0.7", 6667, Protocol::tcp, 6667, "svc/irc/irc", "irc"),
       frontend("198.19.0.7", 53, Protocol::udp, 5353, "svc/irc/irc", "dns"),
       frontend6("2001:2:1::7", 6667, Protocol::tcp, 6667, "svc/irc/irc", "irc"),
       frontend6("2001:2:1::7", 53, Protocol::udp, 5353, "svc/irc/irc", "dns"),
       frontend6("2001:2:1::8", 5432, Protocol::tcp, 5432, "svc/pg/db", "pg")},
      {node_port(30697, Protocol::tcp, 6667, "svc/irc/irc", "irc")},
      {{"svc/irc/irc",
        {dual("198.18.10.2", "2001:2:0:a::2"), member("198.18.11.2"), dual("198.18.12.2", "2001:2:0:c::2"),
         dual("198.18.13.2", "2001:2:0:d::2", MemberState::draining)}},
       {"svc/pg/db", {}}});
}

state::DataplaneState scaled_state(unsigned services, unsigned ports, unsigned backends) {
  std::vector<state::Frontend> fes;
  std::vector<state::BackendSet> sets;
  fes.reserve(std::size_t{services} * ports);
  sets.reserve(services);
  for (unsigned s = 0; s < services; ++s) {
    const std::string id = "svc/app" + std::to_string(s) + "/web";
    const net::Ipv4 addr{0x0A400000u + s};  // 10.64.0.0/10
    for (unsigned p = 0; p < ports; ++p) {
      fes.push_back({{addr, static_cast<std::uint16_t>(8000 + p), Protocol::tcp},
                     static_cast<std::uint16_t>(9000 + p), id, "port" + std::to_string(p)});
    }
    state::BackendSet set{id, {}};
    for (unsigned b = 0; b < backends; ++b)
      set.members.push_back({net::Ipv4{0x0A800000u + s * backends + b}, std::nullopt, MemberState::running});
    sets.push_back(std::move(set));
  }
  return state::DataplaneState::from_parts(std::move(fes), {}, std::move(sets));
}

state::DataplaneState with_members(const state::DataplaneState& s, const std::string& id,
                                   std::vector<state::Member> members) {
  std::vector<state::BackendSet> sets(s.backend_sets().begin(), s.backend_sets().end());
  for (auto& set : sets)
    if (set.id == id) set.members = std::move(members);
  return state::DataplaneState::from_parts({s.frontends().begin(), s.frontends().end()},
                                           {s.node_ports().begin(), s.node_ports().end()}, std::move(sets));
}

}  // namespace portway::dataplane::nft::testing
