// LbMaps' IPv6 maps (layout 2, lb_abi.h): frontends, service and node addresses, backend
// addresses and conntrack of the IPv6 family. The IPv6 Maglev tables go through
// install_backend_sets (lb_maps.cc), which serves both descriptor arrays.
#include <linux/bpf.h>

#include <cerrno>
#include <string>

#include "loader/error.h"
#include "loader/lb_flow_walks.h"
#include "loader/lb_map_ops.h"
#include "loader/lb_maps.h"

namespace portway::loader {

using namespace map_ops;

namespace {

struct Ipv6Map {
  const char* name;
  int LbMapFds::*fd;
  std::uint32_t type;
  std::size_t key_size;
  std::size_t value_size;
};

constexpr Ipv6Map kIpv6Maps[] = {
    {"pw_frontends6", &LbMapFds::frontends6, BPF_MAP_TYPE_HASH, sizeof(pw_frontend6_key),
     sizeof(pw_frontend)},
    {"pw_service_addrs6", &LbMapFds::service_addrs6, BPF_MAP_TYPE_HASH, sizeof(pw_in6),
     sizeof(pw_service_addr)},
    {"pw_node_addrs6", &LbMapFds::node_addrs6, BPF_MAP_TYPE_HASH, sizeof(pw_in6),
     sizeof(pw_node_addr)},
    {"pw_backend_addrs6", &LbMapFds::backend_addrs6, BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
     sizeof(pw_in6)},
    {"pw_set_descs6", &LbMapFds::set_descs6, BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
     sizeof(std::uint64_t)},
    {"pw_nexthops6", &LbMapFds::nexthops6, BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
     sizeof(pw_nexthop6)},
    {"pw_flows6", &LbMapFds::flows6, BPF_MAP_TYPE_LRU_HASH, sizeof(pw_flow6_key),
     sizeof(pw_flow6)},
    {"pw_reverse6", &LbMapFds::reverse6, BPF_MAP_TYPE_LRU_HASH, sizeof(pw_flow6_key),
     sizeof(pw_reverse6)},
    {"pw_fragments6", &LbMapFds::fragments6, BPF_MAP_TYPE_LRU_HASH, sizeof(pw_fragment6_key),
     sizeof(pw_fragment6)},
};

void sized_like(std::uint32_t entries, std::uint32_t want, const char* name, const char* like) {
  if (entries != want) {
    throw Error(std::string{"LB map "} + name, EINVAL,
                std::to_string(entries) + " entries, not sized like " + like + " (" +
                    std::to_string(want) + ")");
  }
}

}  // namespace

void LbMaps::open_ipv6_maps(const LbMapFds& fds) {
  std::size_t present = 0;
  for (const Ipv6Map& m : kIpv6Maps) present += fds.*m.fd >= 0 ? 1 : 0;
  if (present == 0) {
    return;  // pins of layout 1, before the load that creates the IPv6 maps
  }
  if (present != std::size(kIpv6Maps)) {
    throw Error("LB IPv6 maps", ENOENT,
                std::to_string(present) + " of " + std::to_string(std::size(kIpv6Maps)) +
                    " IPv6 maps present; reload the fast path to create the rest");
  }
  for (const Ipv6Map& m : kIpv6Maps) {
    const std::uint32_t entries =
        checked_map(fds.*m.fd, m.name, m.type, m.key_size, m.value_size);
    // Arrays indexed by ids the IPv4 maps bound: a smaller one would be indexed past its end.
    if (m.fd == &LbMapFds::backend_addrs6 || m.fd == &LbMapFds::nexthops6) {
      sized_like(entries, caps_.backends, m.name, "pw_backends");
    } else if (m.fd == &LbMapFds::set_descs6) {
      sized_like(entries, caps_.backend_sets, m.name, "pw_set_descs");
    }
  }
  descs6_map_ = MappedArray(fds.set_descs6, "pw_set_descs6");
  descs6_ = descs6_map_.as<std::uint64_t>();
  ipv6_ = true;
}

void LbMaps::require_ipv6(const char* step) const {
  if (!ipv6_) {
    throw Error(step, ENOENT, "the IPv6 maps are not loaded (reload the fast path)");
  }
}

// ---- frontends and addresses -------------------------------------------------------------

void LbMaps::upsert_frontend6(const pw_frontend6_key& key, const pw_frontend& value) {
  const std::pair<pw_frontend6_key, pw_frontend> one{key, value};
  upsert_frontends6({&one, 1});
}

void LbMaps::upsert_frontends6(
    std::span<const std::pair<pw_frontend6_key, pw_frontend>> entries) {
  constexpr const char* step = "upsert IPv6 frontends";
  require_ipv6(step);
  std::vector<pw_frontend6_key> keys;
  std::vector<pw_frontend> values;
  keys.reserve(entries.size());
  values.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    check_index(value.id, caps_.frontends, step, "frontend id");
    check_index(value.set_id, caps_.backend_sets, step, "set id");
    keys.push_back(key);
    values.push_back(value);
  }
  update_batch(fds_.frontends6, keys, values, step);
}

bool LbMaps::erase_frontend6(const pw_frontend6_key& key) {
  return ipv6_ && erase(fds_.frontends6, key, "erase IPv6 frontend");
}

std::optional<pw_frontend> LbMaps::frontend6(const pw_frontend6_key& key) const {
  if (!ipv6_) return std::nullopt;
  return lookup<pw_frontend6_key, pw_frontend>(fds_.frontends6, key, "lookup IPv6 frontend");
}

std::vector<std::pair<pw_frontend6_key, pw_frontend>> LbMaps::frontends6() const {
  if (!ipv6_) return {};
  return dump<pw_frontend6_key, pw_frontend>(fds_.frontends6, "list IPv6 frontends");
}

void LbMaps::upsert_service_addr6(const pw_in6& addr, const pw_service_addr& value) {
  constexpr const char* step = "upsert IPv6 service address";
  require_ipv6(step);
  update(fds_.service_addrs6, addr, value, step);
}

void LbMaps::upsert_service_addrs6(std::span<const pw_in6> addrs) {
  constexpr const char* step = "upsert IPv6 service addresses";
  require_ipv6(step);
  const std::vector<pw_in6> keys(addrs.begin(), addrs.end());
  update_batch(fds_.service_addrs6, keys, std::vector<pw_service_addr>(keys.size()), step);
}

bool LbMaps::erase_service_addr6(const pw_in6& addr) {
  return ipv6_ && erase(fds_.service_addrs6, addr, "erase IPv6 service address");
}

std::vector<pw_in6> LbMaps::service_addrs6() const {
  std::vector<pw_in6> out;
  if (!ipv6_) return out;
  for (const auto& [addr, value] :
       dump<pw_in6, pw_service_addr>(fds_.service_addrs6, "list IPv6 service addresses")) {
    out.push_back(addr);
  }
  return out;
}

void LbMaps::upsert_node_addr6(const pw_in6& addr, const pw_node_addr& value) {
  constexpr const char* step = "upsert IPv6 node address";
  require_ipv6(step);
  update(fds_.node_addrs6, addr, value, step);
}

bool LbMaps::erase_node_addr6(const pw_in6& addr) {
  return ipv6_ && erase(fds_.node_addrs6, addr, "erase IPv6 node address");
}

std::vector<std::pair<pw_in6, pw_node_addr>> LbMaps::node_addrs6() const {
  if (!ipv6_) return {};
  return dump<pw_in6, pw_node_addr>(fds_.node_addrs6, "list IPv6 node addresses");
}

// ---- backend addresses -------------------------------------------------------------------

void LbMaps::set_backend_addrs6(std::span<const std::pair<std::uint32_t, pw_in6>> entries) {
  constexpr const char* step = "set IPv6 backend addresses";
  require_ipv6(step);
  std::vector<std::uint32_t> ids;
  std::vector<pw_in6> addrs;
  ids.reserve(entries.size());
  addrs.reserve(entries.size());
  for (const auto& [id, addr] : entries) {
    check_index(id, caps_.backends, step, "backend id");
    ids.push_back(id);
    addrs.push_back(addr);
  }
  update_batch(fds_.backend_addrs6, ids, addrs, step);
  update_batch(fds_.nexthops6, ids, std::vector<pw_nexthop6>(ids.size()), step);
}

void LbMaps::clear_backend_addrs6(std::span<const std::uint32_t> ids) {
  constexpr const char* step = "clear IPv6 backend addresses";
  require_ipv6(step);
  for (const std::uint32_t id : ids) {
    check_index(id, caps_.backends, step, "backend id");
  }
  const std::vector<std::uint32_t> keys(ids.begin(), ids.end());
  update_batch(fds_.backend_addrs6, keys, std::vector<pw_in6>(keys.size()), step);
  update_batch(fds_.nexthops6, keys, std::vector<pw_nexthop6>(keys.size()), step);
}

pw_in6 LbMaps::backend_addr6(std::uint32_t id) const {
  constexpr const char* step = "lookup IPv6 backend address";
  check_index(id, caps_.backends, step, "backend id");
  if (!ipv6_) return {};
  return lookup<std::uint32_t, pw_in6>(fds_.backend_addrs6, id, step).value_or(pw_in6{});
}

std::vector<pw_in6> LbMaps::all_backend_addrs6() const {
  if (!ipv6_) return {};
  return read_array<pw_in6>(fds_.backend_addrs6, caps_.backends, "read IPv6 backend addresses");
}

// ---- connection tracking -----------------------------------------------------------------

pw_flow6_key reverse_key_of(const pw_flow6_key& key, const pw_flow6& flow) {
  return flow_walks::reverse_key(key, flow);
}

std::optional<pw_flow6> LbMaps::flow6(const pw_flow6_key& key) const {
  if (!ipv6_) return std::nullopt;
  return flow_walks::find<flow_walks::V6>(flow_walks::ipv6_maps(fds_, conn_sets_), key);
}

std::optional<pw_reverse6> LbMaps::reply_translation6(const pw_flow6_key& reply_key) const {
  if (!ipv6_) return std::nullopt;
  return flow_walks::reply<flow_walks::V6>(flow_walks::ipv6_maps(fds_, conn_sets_), reply_key);
}

std::vector<std::pair<pw_conn6_key, pw_conn6>> LbMaps::conns6() const {
  std::vector<std::pair<pw_conn6_key, pw_conn6>> out;
  const flow_walks::FlowMaps m = flow_walks::ipv6_maps(fds_, conn_sets_);
  if (ipv6_ && m.conns.map >= 0)
    conn_sets::for_each<pw_conn6_key>(m.conns, [&](const pw_conn6_key& k, const pw_conn6& c) { out.emplace_back(k, c); });
  return out;
}

std::optional<pw_reverse6> LbMaps::reverse6(const pw_flow6_key& key) const {
  if (!ipv6_) return std::nullopt;
  return lookup<pw_flow6_key, pw_reverse6>(fds_.reverse6, key, "lookup IPv6 reverse flow");
}

std::vector<std::pair<pw_flow6_key, pw_flow6>> LbMaps::flows6() const {
  if (!ipv6_) return {};
  return flow_walks::list<flow_walks::V6>(flow_walks::ipv6_maps(fds_, conn_sets_));
}

void LbMaps::upsert_flows6(std::span<const std::pair<pw_flow6_key, pw_flow6>> flows) {
  require_ipv6("write IPv6 flows");
  // New keys join the baseline, as in upsert_flows.
  const flow_walks::FlowMaps maps = flow_walks::ipv6_maps(fds_, conn_sets_);
  add_controller_event(maps.baseline,
                       flow_walks::upsert<flow_walks::V6>(maps, flows, caps_.backends));
}

std::size_t LbMaps::reverse6_count() const {
  return ipv6_ ? count_keys<pw_flow6_key>(fds_.reverse6, "count IPv6 reverse flows") : 0;
}

std::size_t LbMaps::fragment6_count() const {
  return ipv6_ ? count_keys<pw_fragment6_key>(fds_.fragments6, "count IPv6 fragments") : 0;
}

void LbMaps::clear_conntrack6() {
  if (!ipv6_) return;
  const flow_walks::FlowMaps maps = flow_walks::ipv6_maps(fds_, conn_sets_);
  add_controller_event(maps.controller_deletes, flow_walks::clear<flow_walks::V6>(maps));
  clear<pw_fragment6_key>(fds_.fragments6, "clear IPv6 fragments");
}

FlowTableFill LbMaps::flow6_fill() const {
  const std::uint64_t entries =
      ipv6_ ? flow_walks::count<flow_walks::V6>(flow_walks::ipv6_maps(fds_, conn_sets_)) : 0;
  return fill_of(entries, PW_EV_FLOW6_INSERTS, PW_EV_FLOW6_DELETES,
                 PW_EV_FLOW6_CONTROLLER_DELETES, PW_EV_FLOW6_BASELINE);
}

}  // namespace portway::loader
