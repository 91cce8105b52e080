#include "dataplane/nft/reconstruct.h"

#include <charconv>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

#include "dataplane/nft/layout.h"

namespace portway::dataplane::nft {
namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto pos = s.find(" . ");
    parts.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return parts;
    s.remove_prefix(pos + 3);
  }
}

template <class T>
bool parse_uint(std::string_view s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

bool parse_proto(std::string_view s, config::Protocol& p) {
  if (s == "tcp") p = config::Protocol::tcp;
  else if (s == "udp") p = config::Protocol::udp;
  else return false;
  return true;
}

bool parse_ipv4_into(std::string_view s, net::Ipv4& out) {
  const auto a = net::parse_ipv4(s);
  if (!a) return false;
  out = *a;
  return true;
}

bool parse_address(std::string_view s, state::IpAddress& out) {
  if (const auto a = net::parse_ipv4(s)) {
    out = *a;
    return true;
  }
  if (const auto a = net::parse_ipv6(s)) {
    out = *a;
    return true;
  }
  return false;
}

const SetReadBack* find(const ReadBack& rb, SetName s) {
  const auto it = rb.sets.find(std::string(name_of(s)));
  return it == rb.sets.end() ? nullptr : &it->second;
}

template <class F>
void each(const ReadBack& rb, SetName s, F f) {
  if (const SetReadBack* set = find(rb, s))
    for (const auto& [k, d] : set->elements) f(k, d);
}

}  // namespace

bool parse_frontend_key(const std::string& text, state::FrontendKey& out) {
  const auto p = split(text);
  if (p.size() != 3) return false;
  return parse_address(p[0], out.address) && parse_proto(p[1], out.protocol) && parse_uint(p[2], out.port);
}

bool parse_node_port_key(const std::string& text, state::NodePortKey& out) {
  const auto p = split(text);
  return p.size() == 2 && parse_proto(p[0], out.protocol) && parse_uint(p[1], out.node_port);
}

Reconstructed reconstruct(const ReadBack& rb, const SetNumbers& numbers, const state::DataplaneState* names) {
  Reconstructed out;
  std::map<state::IpAddress, std::uint32_t> addr_number;  // service address -> set number
  std::map<net::Ipv4, net::Ipv6> v6_of;  // be_addr6: the members with both addresses
  std::map<net::Ipv6, net::Ipv4> v4_of;
  std::map<state::NodePortKey, std::uint32_t> np_number;
  std::map<std::uint32_t, std::set<state::MemberKey>> running, draining;  // set number -> members
  const auto problem = [&](std::string_view set, const std::string& key) {
    out.problems.push_back(std::string(set) + ": unexpected element " + key);
  };

  each(rb, SetName::svc_addrs, [&](const std::string& k, const std::string& d) {
    std::uint32_t n = 0;
    net::Ipv4 a;
    if (parse_ipv4_into(k, a) && parse_uint(d, n)) addr_number[a] = n;
    else problem("svc_addrs", k);
  });
  each(rb, SetName::svc_addrs6, [&](const std::string& k, const std::string& d) {
    std::uint32_t n = 0;
    const auto a = net::parse_ipv6(k);
    if (a && parse_uint(d, n)) addr_number[*a] = n;
    else problem("svc_addrs6", k);
  });
  each(rb, SetName::be_addr6, [&](const std::string& k, const std::string& d) {
    net::Ipv4 m;
    const auto a = net::parse_ipv6(d);
    if (!parse_ipv4_into(k, m) || !a) return problem("be_addr6", k);
    v6_of[m] = *a;
    v4_of[*a] = m;
  });
  each(rb, SetName::np_sets, [&](const std::string& k, const std::string& d) {
    state::NodePortKey key;
    std::uint32_t n = 0;
    if (parse_node_port_key(k, key) && parse_uint(d, n)) np_number[key] = n;
    else problem("np_sets", k);
  });
  // A member named by one of its addresses (a slot, a draining element): be_addr6 pairs the
  // addresses of a member that has both; an address it does not pair is a one-family member.
  const auto key_of_v4 = [&](net::Ipv4 a) {
    const auto it = v6_of.find(a);
    return state::MemberKey{a, it == v6_of.end() ? std::nullopt : std::optional(it->second)};
  };
  const auto key_of_v6 = [&](const net::Ipv6& a) {
    const auto it = v4_of.find(a);
    return state::MemberKey{it == v4_of.end() ? std::nullopt : std::optional(it->second), a};
  };
  const auto member_of = [&](bool v6, const std::string& d, state::MemberKey& m) {
    if (!v6) {
      net::Ipv4 a;
      if (!parse_ipv4_into(d, a)) return false;
      m = key_of_v4(a);
      return true;
    }
    const auto a = net::parse_ipv6(d);
    if (!a) return false;
    m = key_of_v6(*a);
    return true;
  };
  for (const SetName s : {SetName::svc_slots, SetName::svc_slots6}) {
    each(rb, s, [&](const std::string& k, const std::string& d) {
      const auto p = split(k);
      state::IpAddress a;
      state::MemberKey m;
      if (p.size() == 2 && parse_address(p[0], a) && member_of(s == SetName::svc_slots6, d, m)) {
        if (const auto it = addr_number.find(a); it != addr_number.end()) {
          running[it->second].insert(m);
          return;
        }
      }
      problem(name_of(s), k);
    });
  }
  for (const SetName s : {SetName::np_slots, SetName::np_slots6}) {
    each(rb, s, [&](const std::string& k, const std::string& d) {
      const auto cut = k.rfind(" . ");
      state::NodePortKey key;
      state::MemberKey m;
      if (cut != std::string::npos && parse_node_port_key(k.substr(0, cut), key) &&
          member_of(s == SetName::np_slots6, d, m)) {
        if (const auto it = np_number.find(key); it != np_number.end()) {
          running[it->second].insert(m);
          return;
        }
      }
      problem(name_of(s), k);
    });
  }
  for (const SetName s : {SetName::draining, SetName::draining6}) {
    each(rb, s, [&](const std::string& k, const std::string&) {
      const auto p = split(k);
      std::uint32_t n = 0;
      state::MemberKey m;
      if (p.size() == 2 && parse_uint(p[0], n) && member_of(s == SetName::draining6, std::string(p[1]), m)) draining[n].insert(m);
      else problem(name_of(s), k);
    });
  }

  const auto set_id = [&](std::uint32_t n) {
    const std::string* id = numbers.id_of(n);
    return id ? *id : placeholder_set_id(n);
  };
  std::set<std::uint32_t> used;
  std::vector<state::Frontend> frontends;
  for (const SetName s : {SetName::svc_tport, SetName::svc_tport6}) {
    each(rb, s, [&](const std::string& k, const std::string& d) {
      state::FrontendKey key;
      std::uint16_t target = 0;
      if (!parse_frontend_key(k, key) || !parse_uint(d, target)) return problem(name_of(s), k);
      if (std::holds_alternative<net::Ipv6>(key.address) != (s == SetName::svc_tport6))
        return problem(name_of(s), k);
      const auto it = addr_number.find(key.address);
      if (it == addr_number.end()) return problem(std::string(name_of(s)) + " (address without a set)", k);
      const state::Frontend* known = names ? names->find(key) : nullptr;
      used.insert(it->second);
      frontends.push_back({key, target, set_id(it->second), known ? known->port_name : ""});
    });
  }
  std::vector<state::NodePort> node_ports;
  each(rb, SetName::np_tport, [&](const std::string& k, const std::string& d) {
    state::NodePortKey key;
    std::uint16_t target = 0;
    if (!parse_node_port_key(k, key) || !parse_uint(d, target)) return problem("np_tport", k);
    const auto it = np_number.find(key);
    if (it == np_number.end()) return problem("np_tport (node port without a set)", k);
    const state::NodePort* known = names ? names->find(key) : nullptr;
    used.insert(it->second);
    node_ports.push_back({key, target, set_id(it->second), known ? known->port_name : ""});
  });

  std::vector<state::BackendSet> sets;
  for (const std::uint32_t n : used) {
    state::BackendSet set{set_id(n), {}};
    for (const auto& m : running[n]) set.members.push_back({m.ipv4, m.ipv6, state::MemberState::running});
    for (const auto& m : draining[n])
      if (!running[n].contains(m)) set.members.push_back({m.ipv4, m.ipv6, state::MemberState::draining});
    sets.push_back(std::move(set));
  }
  try {
    out.state = state::DataplaneState::from_parts(std::move(frontends), std::move(node_ports), std::move(sets));
  } catch (const std::invalid_argument& e) {
    // Only possible with two numbers mapped to one id (a broken number book): report it.
    out.problems.push_back(e.what());
  }
  return out;
}

}  // namespace portway::dataplane::nft
