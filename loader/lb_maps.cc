#include "loader/lb_maps.h"

#include <linux/bpf.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <numeric>
#include <string>

#include "loader/error.h"
#include "loader/map_info.h"
#include "loader/unique_fd.h"

namespace portway::loader {
namespace {

std::uint32_t checked_map(int fd, const char* name, std::uint32_t type, std::size_t key_size,
                          std::size_t value_size) {
  const std::string step = std::string{"LB map "} + name;
  if (fd < 0) {
    throw Error(step, EBADF, "no fd (skeleton not loaded?)");
  }
  const MapInfo info = map_info(fd);
  if (info.type != type) {
    throw Error(step, EINVAL,
                "map type " + std::to_string(info.type) + ", expected " + std::to_string(type));
  }
  if (info.key_size != key_size || info.value_size != value_size) {
    throw Error(step, EINVAL,
                "key/value " + std::to_string(info.key_size) + "/" +
                    std::to_string(info.value_size) + " bytes in the kernel, " +
                    std::to_string(key_size) + "/" + std::to_string(value_size) + " in C++");
  }
  return info.max_entries;
}

template <typename K, typename V>
void update(int fd, const K& key, const V& value, const char* what) {
  check(bpf_map_update_elem(fd, &key, &value, BPF_ANY), what);
}

template <typename K>
bool erase(int fd, const K& key, const char* what) {
  const int ret = bpf_map_delete_elem(fd, &key);
  if (ret == -ENOENT) {
    return false;
  }
  check(ret, what);
  return true;
}

template <typename K, typename V>
std::optional<V> lookup(int fd, const K& key, const char* what) {
  V value{};
  const int ret = bpf_map_lookup_elem(fd, &key, &value);
  if (ret == -ENOENT) {
    return std::nullopt;
  }
  check(ret, what);
  return value;
}

// All entries of a hash map. Entries deleted concurrently (LRU eviction) are skipped.
template <typename K, typename V>
std::vector<std::pair<K, V>> dump(int fd, const char* what) {
  std::vector<std::pair<K, V>> out;
  K cur{};
  K next{};
  const K* prev = nullptr;
  for (;;) {
    const int ret = bpf_map_get_next_key(fd, prev, &next);
    if (ret == -ENOENT) {
      break;
    }
    check(ret, what);
    V value{};
    if (bpf_map_lookup_elem(fd, &next, &value) == 0) {
      out.emplace_back(next, value);
    }
    cur = next;
    prev = &cur;
  }
  return out;
}

template <typename K>
std::size_t count_keys(int fd, const char* what) {
  std::size_t n = 0;
  K cur{};
  K next{};
  const K* prev = nullptr;
  for (;;) {
    const int ret = bpf_map_get_next_key(fd, prev, &next);
    if (ret == -ENOENT) {
      return n;
    }
    check(ret, what);
    ++n;
    cur = next;
    prev = &cur;
  }
}

template <typename K>
void clear(int fd, const char* what) {
  // Collect first: deleting the key get_next_key stands on restarts the walk.
  std::vector<K> keys;
  K cur{};
  K next{};
  const K* prev = nullptr;
  for (;;) {
    const int ret = bpf_map_get_next_key(fd, prev, &next);
    if (ret == -ENOENT) {
      break;
    }
    check(ret, what);
    keys.push_back(next);
    cur = next;
    prev = &cur;
  }
  for (const K& k : keys) {
    (void)erase(fd, k, what);
  }
}

void check_index(std::uint32_t index, std::uint32_t limit, const char* step, const char* what) {
  if (index >= limit) {
    throw Error(step, EINVAL,
                std::string{what} + " " + std::to_string(index) + " >= capacity " +
                    std::to_string(limit));
  }
}

}  // namespace

LbMaps::LbMaps(const LbMapFds& fds)
    : fds_(fds),
      caps_{
          .frontends = checked_map(fds.frontends, "pw_frontends", BPF_MAP_TYPE_HASH,
                                   sizeof(pw_frontend_key), sizeof(pw_frontend)),
          .service_addrs = checked_map(fds.service_addrs, "pw_service_addrs", BPF_MAP_TYPE_HASH,
                                       sizeof(std::uint32_t), sizeof(pw_service_addr)),
          .node_addrs = checked_map(fds.node_addrs, "pw_node_addrs", BPF_MAP_TYPE_HASH,
                                    sizeof(std::uint32_t), sizeof(pw_node_addr)),
          .backends = checked_map(fds.backends, "pw_backends", BPF_MAP_TYPE_ARRAY,
                                  sizeof(std::uint32_t), sizeof(pw_backend)),
          // An outer map's value is an fd going in and a map id coming out: 4 bytes.
          .backend_sets = checked_map(fds.backend_sets, "pw_backend_sets",
                                      BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(std::uint32_t),
                                      sizeof(std::uint32_t)),
          .flows = checked_map(fds.flows, "pw_flows", BPF_MAP_TYPE_LRU_HASH, sizeof(pw_flow_key),
                               sizeof(pw_flow)),
          .fragments = checked_map(fds.fragments, "pw_fragments", BPF_MAP_TYPE_LRU_HASH,
                                   sizeof(pw_fragment_key), sizeof(pw_fragment)),
      },
      frontend_stats_(fds.frontend_stats),
      backend_stats_(fds.backend_stats),
      drops_(fds.drops) {
  (void)checked_map(fds.reverse, "pw_reverse", BPF_MAP_TYPE_LRU_HASH, sizeof(pw_flow_key),
                    sizeof(pw_reverse));
  if (checked_map(fds.nexthops, "pw_nexthops", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
                  sizeof(pw_nexthop)) != caps_.backends) {
    throw Error("LB map pw_nexthops", EINVAL, "not sized like pw_backends");
  }
  if (drops_.size() != PW_DROP_REASONS) {
    throw Error("LB map pw_drops", EINVAL,
                std::to_string(drops_.size()) + " entries, C++ knows " +
                    std::to_string(PW_DROP_REASONS) + " reasons");
  }
}

// ---- frontends and addresses -------------------------------------------------------------

void LbMaps::upsert_frontend(const pw_frontend_key& key, const pw_frontend& value) {
  constexpr const char* step = "upsert frontend";
  check_index(value.id, caps_.frontends, step, "frontend id");
  check_index(value.set_id, caps_.backend_sets, step, "set id");
  update(fds_.frontends, key, value, step);
}

bool LbMaps::erase_frontend(const pw_frontend_key& key) {
  return erase(fds_.frontends, key, "erase frontend");
}

std::optional<pw_frontend> LbMaps::frontend(const pw_frontend_key& key) const {
  return lookup<pw_frontend_key, pw_frontend>(fds_.frontends, key, "lookup frontend");
}

std::vector<std::pair<pw_frontend_key, pw_frontend>> LbMaps::frontends() const {
  return dump<pw_frontend_key, pw_frontend>(fds_.frontends, "list frontends");
}

void LbMaps::upsert_service_addr(std::uint32_t addr, const pw_service_addr& value) {
  update(fds_.service_addrs, addr, value, "upsert service address");
}

bool LbMaps::erase_service_addr(std::uint32_t addr) {
  return erase(fds_.service_addrs, addr, "erase service address");
}

std::vector<std::uint32_t> LbMaps::service_addrs() const {
  std::vector<std::uint32_t> out;
  for (const auto& [addr, value] :
       dump<std::uint32_t, pw_service_addr>(fds_.service_addrs, "list service addresses")) {
    out.push_back(addr);
  }
  return out;
}

void LbMaps::upsert_node_addr(std::uint32_t addr, const pw_node_addr& value) {
  update(fds_.node_addrs, addr, value, "upsert node address");
}

bool LbMaps::erase_node_addr(std::uint32_t addr) {
  return erase(fds_.node_addrs, addr, "erase node address");
}

std::vector<std::pair<std::uint32_t, pw_node_addr>> LbMaps::node_addrs() const {
  return dump<std::uint32_t, pw_node_addr>(fds_.node_addrs, "list node addresses");
}

// ---- backends ----------------------------------------------------------------------------

void LbMaps::set_backend(std::uint32_t id, const pw_backend& value) {
  constexpr const char* step = "set backend";
  check_index(id, caps_.backends, step, "backend id");
  check_index(value.set_id, caps_.backend_sets, step, "set id");
  update(fds_.backends, id, value, step);
  update(fds_.nexthops, id, pw_nexthop{}, step);
}

void LbMaps::clear_backend(std::uint32_t id) {
  constexpr const char* step = "clear backend";
  check_index(id, caps_.backends, step, "backend id");
  update(fds_.backends, id, pw_backend{}, step);
  update(fds_.nexthops, id, pw_nexthop{}, step);
}

pw_backend LbMaps::backend(std::uint32_t id) const {
  constexpr const char* step = "lookup backend";
  check_index(id, caps_.backends, step, "backend id");
  const auto value = lookup<std::uint32_t, pw_backend>(fds_.backends, id, step);
  return value.value_or(pw_backend{});
}

// ---- backend sets ------------------------------------------------------------------------

// Validates `table` and builds its inner map (not yet visible to any program).
UniqueFd LbMaps::build_inner_map(std::uint32_t set_id, std::span<const std::uint32_t> table) const {
  const std::string step = "build backend set " + std::to_string(set_id);
  check_index(set_id, caps_.backend_sets, step.c_str(), "set id");
  if (table.size() >= 0xffffffffu) {
    throw Error(step, E2BIG, "table too large");
  }
  for (const std::uint32_t id : table) {
    check_index(id, caps_.backends, step.c_str(), "backend id in table");
  }
  const auto m = static_cast<std::uint32_t>(table.size());

  // Same type, key/value sizes and flags as the inner template in bpf/lib/maps.h: the kernel
  // refuses an inner map that differs in any of them (max_entries may, thanks to the flag).
  bpf_map_create_opts opts{};
  opts.sz = sizeof(opts);
  opts.map_flags = BPF_F_INNER_MAP;
  const std::string name = "pw_set_" + std::to_string(set_id);
  UniqueFd inner{bpf_map_create(BPF_MAP_TYPE_ARRAY, name.c_str(), sizeof(std::uint32_t),
                                sizeof(std::uint32_t), m + PW_MAGLEV_HEADER_SLOTS, &opts)};
  if (!inner) {
    throw Error(step, errno, "create inner map of " + std::to_string(m + 1) + " entries");
  }

  // One batch write instead of M + 1 syscalls: large tables (65537 slots) are common.
  std::vector<std::uint32_t> keys(m + PW_MAGLEV_HEADER_SLOTS);
  std::iota(keys.begin(), keys.end(), 0u);
  std::vector<std::uint32_t> values;
  values.reserve(keys.size());
  values.push_back(m);
  values.insert(values.end(), table.begin(), table.end());
  __u32 count = static_cast<__u32>(keys.size());
  bpf_map_batch_opts batch{};
  batch.sz = sizeof(batch);
  check(bpf_map_update_batch(inner.get(), keys.data(), values.data(), &count, &batch),
        step + ": fill inner map");
  if (count != keys.size()) {
    throw Error(step, EIO, "batch wrote " + std::to_string(count) + " of " +
                               std::to_string(keys.size()) + " entries");
  }
  return inner;
}

void LbMaps::install_backend_set(std::uint32_t set_id, std::span<const std::uint32_t> table) {
  const UniqueFd inner = build_inner_map(set_id, table);
  // The switch. Our fd to the new map can go afterwards: the outer map holds a reference.
  const auto inner_fd = static_cast<std::uint32_t>(inner.get());
  check(bpf_map_update_elem(fds_.backend_sets, &set_id, &inner_fd, BPF_ANY),
        "install backend set " + std::to_string(set_id) + ": swap into pw_backend_sets");
}

void LbMaps::install_backend_sets(std::span<const BackendSetTable> sets) {
  if (sets.empty()) {
    return;
  }
  std::vector<UniqueFd> inner;
  std::vector<std::uint32_t> keys;
  std::vector<std::uint32_t> values;
  inner.reserve(sets.size());
  for (const auto& s : sets) {
    inner.push_back(build_inner_map(s.set_id, s.table));
    keys.push_back(s.set_id);
    values.push_back(static_cast<std::uint32_t>(inner.back().get()));
  }
  __u32 count = static_cast<__u32>(keys.size());
  bpf_map_batch_opts batch{};
  batch.sz = sizeof(batch);
  const int ret = bpf_map_update_batch(fds_.backend_sets, keys.data(), values.data(), &count,
                                       &batch);
  if (ret < 0 || count != keys.size()) {
    throw Error("install backend sets", ret < 0 ? ret : EIO,
                std::to_string(count) + " of " + std::to_string(keys.size()) +
                    " sets switched");
  }
}

bool LbMaps::clear_backend_set(std::uint32_t set_id) {
  constexpr const char* step = "clear backend set";
  check_index(set_id, caps_.backend_sets, step, "set id");
  return erase(fds_.backend_sets, set_id, step);
}

std::optional<std::vector<std::uint32_t>> LbMaps::backend_set(std::uint32_t set_id) const {
  constexpr const char* step = "read backend set";
  check_index(set_id, caps_.backend_sets, step, "set id");
  // From user space, an outer map's lookup yields the inner map's id, not an fd.
  const auto map_id = lookup<std::uint32_t, std::uint32_t>(fds_.backend_sets, set_id, step);
  if (!map_id) {
    return std::nullopt;
  }
  UniqueFd inner{bpf_map_get_fd_by_id(*map_id)};
  if (!inner) {
    // Replaced and freed between the two calls.
    if (errno == ENOENT) {
      return std::nullopt;
    }
    throw Error(step, errno, "open inner map id " + std::to_string(*map_id));
  }
  const MapInfo info = map_info(inner.get());
  std::vector<std::uint32_t> all(info.max_entries);
  for (std::uint32_t i = 0; i < info.max_entries; ++i) {
    check(bpf_map_lookup_elem(inner.get(), &i, &all[i]), step);
  }
  if (all.empty() || all[0] + PW_MAGLEV_HEADER_SLOTS > all.size()) {
    throw Error(step, EINVAL, "inner map of set " + std::to_string(set_id) + " is malformed");
  }
  return std::vector<std::uint32_t>(all.begin() + PW_MAGLEV_HEADER_SLOTS,
                                    all.begin() + PW_MAGLEV_HEADER_SLOTS + all[0]);
}

// ---- connection tracking -----------------------------------------------------------------

pw_flow_key reverse_key_of(const pw_flow_key& key, const pw_flow& flow) {
  pw_flow_key rk{};
  rk.saddr = flow.backend_addr;
  rk.daddr = (flow.flags & PW_FLOW_HAIRPIN) != 0 ? flow.snat_addr : key.saddr;
  rk.sport = flow.target_port;
  rk.dport = key.sport;
  rk.proto = key.proto;
  return rk;
}

std::optional<pw_flow> LbMaps::flow(const pw_flow_key& key) const {
  return lookup<pw_flow_key, pw_flow>(fds_.flows, key, "lookup flow");
}

std::optional<pw_reverse> LbMaps::reverse(const pw_flow_key& key) const {
  return lookup<pw_flow_key, pw_reverse>(fds_.reverse, key, "lookup reverse flow");
}

std::vector<std::pair<pw_flow_key, pw_flow>> LbMaps::flows() const {
  return dump<pw_flow_key, pw_flow>(fds_.flows, "list flows");
}

std::size_t LbMaps::count_flows_for_backend(std::uint32_t backend_id) const {
  std::size_t n = 0;
  for (const auto& [key, value] : flows()) {
    n += value.backend_id == backend_id ? 1 : 0;
  }
  return n;
}

std::size_t LbMaps::erase_flows_for_backend(std::uint32_t backend_id) {
  std::size_t n = 0;
  for (const auto& [key, value] : flows()) {
    if (value.backend_id != backend_id) {
      continue;
    }
    (void)erase(fds_.reverse, reverse_key_of(key, value), "erase reverse flow");
    n += erase(fds_.flows, key, "erase flow") ? 1 : 0;
  }
  return n;
}

std::size_t LbMaps::reverse_count() const {
  return count_keys<pw_flow_key>(fds_.reverse, "count reverse flows");
}

std::size_t LbMaps::fragment_count() const {
  return count_keys<pw_fragment_key>(fds_.fragments, "count fragments");
}

void LbMaps::clear_conntrack() {
  clear<pw_flow_key>(fds_.flows, "clear flows");
  clear<pw_flow_key>(fds_.reverse, "clear reverse flows");
  clear<pw_fragment_key>(fds_.fragments, "clear fragments");
}

// ---- counters ----------------------------------------------------------------------------

pw_traffic LbMaps::frontend_traffic(std::uint32_t id) const { return frontend_stats_.sum(id); }

pw_traffic LbMaps::backend_traffic(std::uint32_t id) const { return backend_stats_.sum(id); }

std::uint64_t LbMaps::drops(std::uint32_t reason) const { return drops_.sum(reason); }

std::array<std::uint64_t, PW_DROP_REASONS> LbMaps::all_drops() const {
  std::array<std::uint64_t, PW_DROP_REASONS> out{};
  for (std::uint32_t r = 0; r < PW_DROP_REASONS; ++r) {
    out[r] = drops_.sum(r);
  }
  return out;
}

}  // namespace portway::loader
