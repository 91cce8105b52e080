#include "dataplane/xdp/installed_view.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>

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

std::uint32_t IdPool::allocate(const char* what) {
  std::uint32_t candidate = lowest_maybe_free_;
  // Ordered: the first gap at or after the hint is the lowest free id.
  for (auto it = used_.lower_bound(candidate); it != used_.end() && *it == candidate; ++it)
    ++candidate;
  if (candidate >= capacity_)
    throw loader::Error(std::string("allocate ") + what, ENOSPC,
                        "all " + std::to_string(capacity_) + " in use; raise [maps] in the node settings");
  used_.insert(candidate);
  lowest_maybe_free_ = candidate + 1;
  return candidate;
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
    const net::Ipv4 addr{ntohl(be.addr)};
    set->second.members.push_back(
        {addr, std::nullopt,
         be.state == PW_BACKEND_DRAINING ? state::MemberState::draining : state::MemberState::running});
    v.backend_ids[{be.set_id, addr.value}] = id;
  }

  // The table each named set has in the kernel, against the running members read above.
  for (const auto& [set_id, set] : sets) {
    std::set<std::uint32_t> running;
    for (const auto& m : set.members)
      if (m.state == state::MemberState::running) running.insert(v.backend_ids.at({set_id, m.ipv4.value}));
    const std::vector<std::uint32_t> table = maps.backend_set(set_id);
    const std::set<std::uint32_t> named(table.begin(), table.end());
    const std::size_t want_m =
        running.empty() ? 0 : lb::maglev_table_size_for(running.size(), smallest_maglev_table);
    if (named != running || table.size() != want_m) {
      v.stale_tables.insert(set_id);
      v.inconsistencies.push_back("backend set " + set.id + ": installed Maglev table (" +
                                  std::to_string(table.size()) + " slots, " +
                                  std::to_string(named.size()) +
                                  " backends) does not match its " +
                                  std::to_string(running.size()) +
                                  " running members; it is rebuilt");
    }
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
