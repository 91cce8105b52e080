#include "dataplane/xdp/installed_view.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "lb/maglev.h"
#include "loader/error.h"

namespace portway::dataplane::xdp {
namespace {

std::uint8_t ip_proto(config::Protocol p) {
  return p == config::Protocol::udp ? IPPROTO_UDP : IPPROTO_TCP;
}

std::optional<config::Protocol> protocol_of(std::uint8_t proto) {
  if (proto == IPPROTO_TCP) return config::Protocol::tcp;
  if (proto == IPPROTO_UDP) return config::Protocol::udp;
  return std::nullopt;
}

}  // namespace

void IdPool::mark_used(std::uint32_t id) {
  if (in_use(id)) return;
  if (id / 64 >= words_.size()) words_.resize(id / 64 + 1, 0);
  words_[id / 64] |= std::uint64_t{1} << (id % 64);
  ++used_;
}

std::uint32_t IdPool::allocate(const char* what) {
  // Bits below the hint are all set, so the first clear bit at or after the hint's word is
  // the lowest free id.
  std::uint64_t candidate = std::uint64_t{words_.size()} * 64;
  for (std::size_t w = lowest_maybe_free_ / 64; w < words_.size(); ++w)
    if (words_[w] != ~std::uint64_t{0}) {
      candidate = w * 64 + static_cast<unsigned>(std::countr_one(words_[w]));
      break;
    }
  if (candidate >= capacity_)
    throw loader::Error(std::string("allocate ") + what, ENOSPC,
                        "all " + std::to_string(capacity_) + " in use; raise [maps] in the node settings");
  const auto id = static_cast<std::uint32_t>(candidate);
  mark_used(id);
  lowest_maybe_free_ = id + 1;
  return id;
}

void IdPool::release(std::uint32_t id) {
  if (!in_use(id)) return;
  words_[id / 64] &= ~(std::uint64_t{1} << (id % 64));
  --used_;
  if (id < lowest_maybe_free_) lowest_maybe_free_ = id;
}

pw_frontend_key frontend_key_of(const state::FrontendKey& key) {
  pw_frontend_key k{};
  k.addr = htonl(std::get<net::Ipv4>(key.address).value);
  k.port = htons(key.port);
  k.proto = ip_proto(key.protocol);
  k.kind = PW_FRONTEND_SERVICE;
  return k;
}

pw_frontend_key node_port_key_of(const state::NodePortKey& key) {
  pw_frontend_key k{};
  k.addr = 0;
  k.port = htons(key.node_port);
  k.proto = ip_proto(key.protocol);
  k.kind = PW_FRONTEND_NODE_PORT;
  return k;
}

pw_frontend6_key frontend6_key_of(const state::FrontendKey& key) {
  pw_frontend6_key k{};
  k.addr = in6_of(std::get<net::Ipv6>(key.address));
  k.port = htons(key.port);
  k.proto = ip_proto(key.protocol);
  k.kind = PW_FRONTEND_SERVICE;
  return k;
}

pw_frontend6_key node_port6_key_of(const state::NodePortKey& key) {
  pw_frontend6_key k{};
  k.port = htons(key.node_port);
  k.proto = ip_proto(key.protocol);
  k.kind = PW_FRONTEND_NODE_PORT;
  return k;
}

pw_in6 in6_of(const net::Ipv6& a) {
  pw_in6 out{};
  static_assert(sizeof out == sizeof a.bytes);
  std::memcpy(&out, a.bytes.data(), sizeof out);
  return out;
}

net::Ipv6 ipv6_of(const pw_in6& a) {
  net::Ipv6 out;
  std::memcpy(out.bytes.data(), &a, sizeof a);
  return out;
}

bool is_unset(const pw_in6& a) { return (a.w[0] | a.w[1] | a.w[2] | a.w[3]) == 0; }

namespace {

// A set's installed table of one family against the running members that belong in it.
void check_table(const loader::LbMaps& maps, std::uint32_t set_id, const std::string& name,
                 const std::set<std::uint32_t>& running, loader::SetFamily family,
                 std::uint32_t smallest_maglev_table, InstalledView& v) {
  const std::vector<std::uint32_t> table = maps.backend_set(set_id, family);
  const std::set<std::uint32_t> named(table.begin(), table.end());
  const std::size_t want_m =
      running.empty() ? 0 : lb::maglev_table_size_for(running.size(), smallest_maglev_table);
  if (named == running && table.size() == want_m) return;
  v.stale_tables.insert(set_id);
  v.inconsistencies.push_back("backend set " + name + ": installed " +
                              (family == loader::SetFamily::ipv6 ? "IPv6 " : "") + "Maglev table (" +
                              std::to_string(table.size()) + " slots, " + std::to_string(named.size()) +
                              " backends) does not match its " + std::to_string(running.size()) +
                              " running members; it is rebuilt");
}

// The IPv6 frontends (pw_frontends6): service frontends join the state; node-port entries
// must mirror the IPv4 ones (one NodePort, one id, an entry in each family's map).
void read_frontends6(const loader::LbMaps& maps, const std::map<std::uint32_t, state::BackendSet>& sets,
                     const std::map<std::uint32_t, std::string>& port_names,
                     std::vector<state::Frontend>& frontends, const std::vector<state::NodePort>& node_ports,
                     InstalledView& v) {
  if (!maps.has_ipv6()) return;
  std::map<state::NodePortKey, pw_frontend> node_ports6;
  for (const auto& [key, fe] : maps.frontends6()) {
    const auto proto = protocol_of(key.proto);
    auto set = sets.find(fe.set_id);
    if (!proto || set == sets.end() || (key.kind == PW_FRONTEND_NODE_PORT) != is_unset(key.addr)) {
      v.inconsistencies.push_back("IPv6 frontend " + std::to_string(fe.id) + " is incomplete; it is removed");
      v.orphan_frontends6.push_back(key);
      v.frontend_pool.mark_used(fe.id);
      continue;
    }
    if (key.kind == PW_FRONTEND_NODE_PORT) {
      node_ports6[{ntohs(key.port), *proto}] = fe;
      continue;
    }
    v.frontend_pool.mark_used(fe.id);
    auto name = port_names.find(fe.id);
    state::Frontend f{{ipv6_of(key.addr), ntohs(key.port), *proto}, ntohs(fe.target_port), set->second.id,
                      name == port_names.end() ? "" : name->second};
    v.frontend_ids[f.key] = fe.id;
    frontends.push_back(std::move(f));
  }
  for (const auto& np : node_ports) {
    auto it = node_ports6.find(np.key);
    const std::uint32_t id = v.node_port_ids.at(np.key);
    if (it == node_ports6.end() || it->second.id != id || it->second.set_id != v.set_ids.at(np.backend_set) ||
        ntohs(it->second.target_port) != np.target_port) {
      v.stale_node_ports.insert(np.key);
      v.inconsistencies.push_back(state::to_string(np.key) + ": the IPv6 entry is missing or differs; it is rewritten");
    }
    if (it != node_ports6.end()) node_ports6.erase(it);
  }
  for (const auto& [key, fe] : node_ports6) {
    v.inconsistencies.push_back("IPv6 " + state::to_string(key) + " has no IPv4 entry; it is removed");
    v.orphan_frontends6.push_back(node_port6_key_of(key));
    v.frontend_pool.mark_used(fe.id);
  }
}

}  // namespace

InstalledView read_installed(const loader::LbMaps& maps, const MetaMaps& meta,
                             std::uint32_t smallest_maglev_table) {
  InstalledView v;
  const loader::LbCapacities& caps = maps.capacities();
  v.set_pool = IdPool(caps.backend_sets);
  v.backend_pool = IdPool(caps.backends);
  v.frontend_pool = IdPool(caps.frontends);

  const auto set_names = meta.set_names();
  const auto port_names = meta.frontend_names();
  std::map<std::uint32_t, state::BackendSet> sets;
  for (const auto& [id, name] : set_names) {
    sets[id].id = name;
    v.set_ids[name] = id;
    v.set_pool.mark_used(id);
  }

  const std::vector<pw_backend> backends = maps.all_backends();  // batched: 10^5 entries
  const std::vector<pw_in6> addrs6 = maps.all_backend_addrs6();  // empty without IPv6 maps
  for (std::uint32_t id = 0; id < backends.size(); ++id) {
    const pw_backend& be = backends[id];
    if (be.state == PW_BACKEND_UNUSED) continue;
    v.backend_pool.mark_used(id);
    auto set = sets.find(be.set_id);
    if (set == sets.end()) {
      v.inconsistencies.push_back("backend " + std::to_string(id) + " belongs to unnamed set " +
                                  std::to_string(be.set_id));
      continue;
    }
    // addr 0: an IPv6-only member (lb_abi.h); no IPv6 address: an IPv4-only one.
    state::Member m;
    if (be.addr != 0) m.ipv4 = net::Ipv4{ntohl(be.addr)};
    if (!addrs6.empty() && !is_unset(addrs6[id])) m.ipv6 = ipv6_of(addrs6[id]);
    m.state = be.state == PW_BACKEND_DRAINING ? state::MemberState::draining : state::MemberState::running;
    if (!m.ipv4 && !m.ipv6) {
      v.inconsistencies.push_back("backend " + std::to_string(id) + " has no address");
      continue;
    }
    v.backend_ids[{be.set_id, m.key()}] = id;
    set->second.members.push_back(std::move(m));
  }

  // The tables each named set has in the kernel, against the running members read above.
  for (const auto& [set_id, set] : sets) {
    std::set<std::uint32_t> running, running6;
    for (const auto& m : set.members) {
      if (m.state != state::MemberState::running) continue;
      const std::uint32_t id = v.backend_ids.at({set_id, m.key()});
      if (m.ipv4) running.insert(id);
      if (m.ipv6) running6.insert(id);
    }
    check_table(maps, set_id, set.id, running, loader::SetFamily::ipv4, smallest_maglev_table, v);
    if (maps.has_ipv6())
      check_table(maps, set_id, set.id, running6, loader::SetFamily::ipv6, smallest_maglev_table, v);
  }

  std::vector<state::Frontend> frontends;
  std::vector<state::NodePort> node_ports;
  for (const auto& [key, fe] : maps.frontends()) {
    v.frontend_pool.mark_used(fe.id);
    const auto proto = protocol_of(key.proto);
    auto set = sets.find(fe.set_id);
    auto name = port_names.find(fe.id);
    if (!proto || set == sets.end()) {
      v.inconsistencies.push_back("frontend " + std::to_string(fe.id) + " is incomplete");
      continue;
    }
    const std::string port_name = name == port_names.end() ? "" : name->second;
    if (key.kind == PW_FRONTEND_NODE_PORT) {
      state::NodePort np{{ntohs(key.port), *proto}, ntohs(fe.target_port), set->second.id, port_name};
      v.node_port_ids[np.key] = fe.id;
      node_ports.push_back(std::move(np));
    } else {
      state::Frontend f{{net::Ipv4{ntohl(key.addr)}, ntohs(key.port), *proto},
                        ntohs(fe.target_port), set->second.id, port_name};
      v.frontend_ids[f.key] = fe.id;
      frontends.push_back(std::move(f));
    }
  }
  read_frontends6(maps, sets, port_names, frontends, node_ports, v);
  std::vector<state::BackendSet> set_list;
  for (auto& [id, set] : sets) set_list.push_back(std::move(set));
  try {
    v.state = state::DataplaneState::from_parts(std::move(frontends), std::move(node_ports),
                                                std::move(set_list));
  } catch (const std::invalid_argument& e) {
    // Unreadable as a whole: report it and start from empty, so the next apply rewrites
    // everything it wants (stale entries are then overwritten or removed by remove_all).
    v.inconsistencies.push_back(e.what());
    v.state = state::DataplaneState{};
  }
  return v;
}

}  // namespace portway::dataplane::xdp
