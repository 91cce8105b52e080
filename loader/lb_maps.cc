#include "loader/lb_maps.h"

#include <linux/bpf.h>

#include <bpf/bpf.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_set>

#include "loader/error.h"
#include "loader/lb_flow_walks.h"
#include "loader/lb_map_ops.h"
#include "loader/map_info.h"
#include "loader/unique_fd.h"

namespace portway::loader {

using namespace map_ops;
namespace {

// A mask is contiguous ones from the top (a prefix); addr has no bits outside it.
bool prefix_ok(const std::uint8_t* addr, const std::uint8_t* mask, std::size_t bytes) {
  bool zeros = false;
  for (std::size_t i = 0; i < bytes; ++i) {
    for (int bit = 7; bit >= 0; --bit) {
      const bool one = (mask[i] >> bit) & 1;
      if (one && zeros) return false;
      if (!one) zeros = true;
    }
    if (addr[i] & ~mask[i]) return false;
  }
  return true;
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
          .backend_sets = checked_map(fds.set_descs, "pw_set_descs", BPF_MAP_TYPE_ARRAY,
                                      sizeof(std::uint32_t), sizeof(std::uint64_t)),
          .maglev_slots = checked_map(fds.maglev_slots, "pw_maglev_slots", BPF_MAP_TYPE_ARRAY,
                                      sizeof(std::uint32_t), sizeof(pw_maglev_chunk)) *
                          PW_MAGLEV_CHUNK_SLOTS,
          .flows = checked_map(fds.flows, "pw_flows", BPF_MAP_TYPE_LRU_HASH, sizeof(pw_flow_key),
                               sizeof(pw_flow)),
          .fragments = checked_map(fds.fragments, "pw_fragments", BPF_MAP_TYPE_LRU_HASH,
                                   sizeof(pw_fragment_key), sizeof(pw_fragment)),
      },
      descs_map_(fds.set_descs, "pw_set_descs"),
      slots_map_(fds.maglev_slots, "pw_maglev_slots"),
      descs_(descs_map_.as<std::uint64_t>()),
      slots_(slots_map_.as<std::uint32_t>()),
      slots_alloc_(caps_.maglev_slots),
      frontend_stats_(fds.frontend_stats),
      backend_stats_(fds.backend_stats),
      drops_(fds.drops) {
  open_ipv6_maps(fds);
  claim_installed_tables(descs_, "pw_set_descs");
  claim_installed_tables(descs6_, "pw_set_descs6");
  slots_alloc_.retire_all_free();
  (void)checked_map(fds.reverse, "pw_reverse", BPF_MAP_TYPE_LRU_HASH, sizeof(pw_flow_key),
                    sizeof(pw_reverse));
  if (checked_map(fds.nexthops, "pw_nexthops", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
                  sizeof(pw_nexthop)) != caps_.backends) {
    throw Error("LB map pw_nexthops", EINVAL, "not sized like pw_backends");
  }
  if (drops_.size() != PW_DROP_SLOTS) {
    throw Error("LB map pw_drops", EINVAL,
                std::to_string(drops_.size()) + " entries, layout " +
                    std::to_string(PW_LAYOUT_VERSION) + " has " + std::to_string(PW_DROP_SLOTS));
  }
  if (fds.interfaces >= 0) {
    (void)checked_map(fds.interfaces, "pw_interfaces", BPF_MAP_TYPE_HASH, sizeof(std::uint32_t),
                      sizeof(pw_interface));
  }
  if (fds.uplinks >= 0 && checked_map(fds.uplinks, "pw_uplinks", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
                                      sizeof(pw_interface)) != PW_UPLINK_SLOTS) {
    throw Error("LB map pw_uplinks", EINVAL, "not " + std::to_string(PW_UPLINK_SLOTS) + " entries");
  }
  if (fds.conn_sets >= 0) {
    conn_sets_ = checked_map(fds.conn_sets, "pw_conn_sets", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
                             sizeof(pw_conn_set));
    // The programs index both tables with one set count (lib/conn_set.h, pw_conn_sets_n).
    if (fds.conn_sets6 >= 0 && checked_map(fds.conn_sets6, "pw_conn_sets6", BPF_MAP_TYPE_ARRAY,
                                           sizeof(std::uint32_t), sizeof(pw_conn6_set)) != conn_sets_) {
      throw Error("LB map pw_conn_sets6", EINVAL, "not sized like pw_conn_sets");
    }
  }
  if (fds.frontend_gens >= 0 &&
      checked_map(fds.frontend_gens, "pw_frontend_gens", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
                  sizeof(std::uint32_t)) < caps_.frontends) {
    throw Error("LB map pw_frontend_gens", EINVAL, "smaller than pw_frontends");
  }
  if (fds.prefilter >= 0) {
    (void)checked_map(fds.prefilter, "pw_prefilter", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
                      sizeof(pw_prefilter));
  }
  if (fds.events >= 0) {
    events_.emplace(fds.events);
    if (events_->size() != PW_EVENT_SLOTS) {
      throw Error("LB map pw_events", EINVAL,
                  std::to_string(events_->size()) + " entries, layout " +
                      std::to_string(PW_LAYOUT_VERSION) + " has " + std::to_string(PW_EVENT_SLOTS));
    }
  }
}

void LbMaps::claim_installed_tables(std::span<std::uint64_t> descs, const char* name) {
  // The regions the installed descriptors name are in use. A descriptor that reaches past the
  // array or overlaps another (of either family; only a bug could write one) is cleared: its
  // set reads as having no table, which the controller's read-back sees and reinstalls.
  for (std::uint32_t set = 0; set < descs.size(); ++set) {
    const std::uint64_t d = std::atomic_ref(descs[set]).load(std::memory_order_acquire);
    if (pw_set_desc_m(d) == 0) {
      continue;
    }
    if (!slots_alloc_.claim(pw_set_desc_offset(d), pw_set_desc_m(d))) {
      spdlog::warn("{}: set {} names slots {}+{} outside the array or overlapping "
                   "another set; cleared",
                   name, set, pw_set_desc_offset(d), pw_set_desc_m(d));
      std::atomic_ref(descs[set]).store(0, std::memory_order_release);
    }
  }
}

// ---- frontends and addresses -------------------------------------------------------------

void LbMaps::upsert_frontend(const pw_frontend_key& key, const pw_frontend& value) {
  constexpr const char* step = "upsert frontend";
  check_index(value.id, caps_.frontends, step, "frontend id");
  check_index(value.set_id, caps_.backend_sets, step, "set id");
  update(fds_.frontends, key, value, step);
}

void LbMaps::upsert_frontends(std::span<const std::pair<pw_frontend_key, pw_frontend>> entries) {
  constexpr const char* step = "upsert frontends";
  std::vector<pw_frontend_key> keys;
  std::vector<pw_frontend> values;
  keys.reserve(entries.size());
  values.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    check_index(value.id, caps_.frontends, step, "frontend id");
    check_index(value.set_id, caps_.backend_sets, step, "set id");
    keys.push_back(key);
    values.push_back(value);
  }
  update_batch(fds_.frontends, keys, values, step);
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

void LbMaps::upsert_service_addrs(std::span<const std::uint32_t> addrs) {
  const std::vector<std::uint32_t> keys(addrs.begin(), addrs.end());
  update_batch(fds_.service_addrs, keys, std::vector<pw_service_addr>(keys.size()),
               "upsert service addresses");
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

void LbMaps::set_backends(std::span<const std::pair<std::uint32_t, pw_backend>> entries) {
  constexpr const char* step = "set backends";
  std::vector<std::uint32_t> ids;
  std::vector<pw_backend> values;
  ids.reserve(entries.size());
  values.reserve(entries.size());
  for (const auto& [id, value] : entries) {
    check_index(id, caps_.backends, step, "backend id");
    check_index(value.set_id, caps_.backend_sets, step, "set id");
    ids.push_back(id);
    values.push_back(value);
  }
  update_batch(fds_.backends, ids, values, step);
  update_batch(fds_.nexthops, ids, std::vector<pw_nexthop>(ids.size()), step);
}

void LbMaps::clear_backends(std::span<const std::uint32_t> ids) {
  constexpr const char* step = "clear backends";
  for (const std::uint32_t id : ids) {
    check_index(id, caps_.backends, step, "backend id");
  }
  const std::vector<std::uint32_t> keys(ids.begin(), ids.end());
  update_batch(fds_.backends, keys, std::vector<pw_backend>(keys.size()), step);
  update_batch(fds_.nexthops, keys, std::vector<pw_nexthop>(keys.size()), step);
}

std::vector<pw_backend> LbMaps::all_backends() const {
  return read_array<pw_backend>(fds_.backends, caps_.backends, "read all backends");
}

pw_backend LbMaps::backend(std::uint32_t id) const {
  constexpr const char* step = "lookup backend";
  check_index(id, caps_.backends, step, "backend id");
  const auto value = lookup<std::uint32_t, pw_backend>(fds_.backends, id, step);
  return value.value_or(pw_backend{});
}

// ---- backend sets ------------------------------------------------------------------------

void LbMaps::validate_table(std::uint32_t set_id, std::span<const std::uint32_t> table,
                            const char* step) const {
  check_index(set_id, caps_.backend_sets, step, "set id");
  if (table.size() >= (1u << 31)) {
    throw Error(step, E2BIG, "table of " + std::to_string(table.size()) + " slots");
  }
  for (const std::uint32_t id : table) {
    check_index(id, caps_.backends, step, "backend id in table");
  }
}

std::span<std::uint64_t> LbMaps::descs_of(SetFamily family, const char* step) const {
  if (family == SetFamily::ipv4) {
    return descs_;
  }
  require_ipv6(step);
  return descs6_;
}

void LbMaps::install_backend_set(std::uint32_t set_id, std::span<const std::uint32_t> table,
                                 SetFamily family) {
  const BackendSetTable one{set_id, table, family};
  install_backend_sets({&one, 1});
}

void LbMaps::install_backend_sets(std::span<const BackendSetTable> sets) {
  constexpr const char* step = "install backend sets";
  std::unordered_set<std::uint64_t> seen;
  for (const auto& s : sets) {
    (void)descs_of(s.family, step);
    validate_table(s.set_id, s.table, step);
    const std::uint64_t family_bit = s.family == SetFamily::ipv6 ? 1ull << 32 : 0;
    if (!seen.insert(family_bit | s.set_id).second) {
      throw Error(step, EINVAL, "set " + std::to_string(s.set_id) + " given twice");
    }
  }

  // What changes: a table equal to the installed one keeps its slots.
  struct Planned {
    std::span<std::uint64_t> descs;  // the family's descriptor array
    std::uint32_t set_id;
    std::span<const std::uint32_t> table;
    std::uint32_t offset = 0;
  };
  std::vector<Planned> plan;
  plan.reserve(sets.size());
  for (const auto& s : sets) {
    const std::span<std::uint64_t> descs = descs_of(s.family, step);
    const std::uint64_t d = descs[s.set_id];
    const std::uint32_t m = pw_set_desc_m(d);
    if (m == s.table.size() &&
        (m == 0 || std::equal(s.table.begin(), s.table.end(),
                              slots_.begin() + pw_set_desc_offset(d)))) {
      continue;
    }
    plan.push_back({descs, s.set_id, s.table});
  }

  // Slots for every new table before anything is switched. Out of free slots: wait for the
  // retired ones once, then give up (releasing what this call took, which nobody saw).
  bool waited = false;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto m = static_cast<std::uint32_t>(plan[i].table.size());
    if (m == 0) {
      continue;
    }
    std::optional<std::uint32_t> offset = slots_alloc_.allocate(m);
    if (!offset && !waited && slots_alloc_.retired_slots() > 0) {
      wait_for_programs();
      waited = true;
      offset = slots_alloc_.allocate(m);
    }
    if (!offset) {
      for (std::size_t j = 0; j < i; ++j) {
        slots_alloc_.release_unpublished(plan[j].offset,
                                         static_cast<std::uint32_t>(plan[j].table.size()));
      }
      throw Error(step, ENOSPC,
                  "no " + std::to_string(m) + " contiguous free Maglev slots (" +
                      std::to_string(slots_alloc_.free_slots()) + " free of " +
                      std::to_string(caps_.maglev_slots) +
                      "); raise [maps] maglev_slots in the node settings");
    }
    plan[i].offset = *offset;
  }

  // Write every table into its unseen slots, then publish: the release fence orders all
  // table stores before the descriptor stores, so a program that reads a new descriptor
  // finds its table complete (x86 keeps stores in order anyway; the fence also keeps the
  // compiler from sinking the copies below the switch).
  for (const Planned& p : plan) {
    if (!p.table.empty()) {
      std::memcpy(slots_.data() + p.offset, p.table.data(), p.table.size_bytes());
    }
  }
  std::atomic_thread_fence(std::memory_order_release);
  for (const Planned& p : plan) {
    const auto m = static_cast<std::uint32_t>(p.table.size());
    const std::uint64_t old = p.descs[p.set_id];
    std::atomic_ref(p.descs[p.set_id])
        .store(m == 0 ? 0 : pw_set_desc(p.offset, m), std::memory_order_release);
    slots_alloc_.retire(pw_set_desc_offset(old), pw_set_desc_m(old));
  }
}

bool LbMaps::clear_backend_set(std::uint32_t set_id, SetFamily family) {
  constexpr const char* step = "clear backend set";
  const std::span<std::uint64_t> descs = descs_of(family, step);
  check_index(set_id, caps_.backend_sets, step, "set id");
  const std::uint64_t old = descs[set_id];
  if (pw_set_desc_m(old) == 0) {
    return false;
  }
  std::atomic_ref(descs[set_id]).store(0, std::memory_order_release);
  slots_alloc_.retire(pw_set_desc_offset(old), pw_set_desc_m(old));
  return true;
}

std::uint64_t LbMaps::backend_set_descriptor(std::uint32_t set_id, SetFamily family) const {
  constexpr const char* step = "read backend set";
  if (family == SetFamily::ipv6 && !ipv6_) {
    return 0;  // no IPv6 maps: no IPv6 table
  }
  const std::span<std::uint64_t> descs = descs_of(family, step);
  check_index(set_id, caps_.backend_sets, step, "set id");
  return std::atomic_ref(descs[set_id]).load(std::memory_order_acquire);
}

std::vector<std::uint32_t> LbMaps::backend_set(std::uint32_t set_id, SetFamily family) const {
  const std::uint64_t d = backend_set_descriptor(set_id, family);
  const std::uint32_t m = pw_set_desc_m(d);
  const std::uint64_t offset = pw_set_desc_offset(d);
  if (offset + m > slots_.size()) {
    throw Error("read backend set", EINVAL,
                "descriptor of set " + std::to_string(set_id) + " reaches past the slots");
  }
  return {slots_.begin() + static_cast<std::ptrdiff_t>(offset),
          slots_.begin() + static_cast<std::ptrdiff_t>(offset + m)};
}

void LbMaps::wait_for_programs() {
  constexpr const char* step = "wait for running programs";
  // The kernel ends every update of a map-in-map from user space with synchronize_rcu(), so
  // that "all non-sleepable programs that could be running use the new map value" when the
  // syscall returns (kernel/bpf/syscall.c, maybe_wait_bpf_programs). A private one-entry
  // ARRAY_OF_MAPS, updated in place, is that wait and nothing else. (Sleepable programs are
  // not waited for; none reads the slots.)
  if (!fence_outer_) {
    fence_inner_.reset(bpf_map_create(BPF_MAP_TYPE_ARRAY, "pw_gp_inner", sizeof(std::uint32_t),
                                      sizeof(std::uint32_t), 1, nullptr));
    if (!fence_inner_) {
      throw Error(step, errno, "create inner map");
    }
    bpf_map_create_opts opts{};
    opts.sz = sizeof(opts);
    opts.inner_map_fd = static_cast<__u32>(fence_inner_.get());
    fence_outer_.reset(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "pw_gp_fence",
                                      sizeof(std::uint32_t), sizeof(std::uint32_t), 1, &opts));
    if (!fence_outer_) {
      throw Error(step, errno, "create map-in-map");
    }
  }
  const std::uint32_t key = 0;
  const auto inner = static_cast<std::uint32_t>(fence_inner_.get());
  check(bpf_map_update_elem(fence_outer_.get(), &key, &inner, BPF_ANY), step);
  ++grace_waits_;
  slots_alloc_.grace_period_passed();
}

// ---- connection tracking -----------------------------------------------------------------

pw_flow_key reverse_key_of(const pw_flow_key& key, const pw_flow& flow) {
  return flow_walks::reverse_key(key, flow);
}

std::optional<pw_flow> LbMaps::flow(const pw_flow_key& key) const {
  return flow_walks::find<flow_walks::V4>(flow_walks::ipv4_maps(fds_, conn_sets_), key);
}

std::optional<pw_reverse> LbMaps::reply_translation(const pw_flow_key& reply_key) const {
  return flow_walks::reply<flow_walks::V4>(flow_walks::ipv4_maps(fds_, conn_sets_), reply_key);
}

std::vector<std::pair<pw_conn_key, pw_conn>> LbMaps::conns() const {
  std::vector<std::pair<pw_conn_key, pw_conn>> out;
  const flow_walks::FlowMaps m = flow_walks::ipv4_maps(fds_, conn_sets_);
  if (m.conns.map >= 0)
    conn_sets::for_each<pw_conn_key>(m.conns, [&](const pw_conn_key& k, const pw_conn& c) { out.emplace_back(k, c); });
  return out;
}

std::optional<pw_reverse> LbMaps::reverse(const pw_flow_key& key) const {
  return lookup<pw_flow_key, pw_reverse>(fds_.reverse, key, "lookup reverse flow");
}

std::vector<std::pair<pw_flow_key, pw_flow>> LbMaps::flows() const {
  return flow_walks::list<flow_walks::V4>(flow_walks::ipv4_maps(fds_, conn_sets_));
}

std::size_t LbMaps::count_flows_for_backend(std::uint32_t backend_id) const {
  std::size_t n = flow_walks::count_for_backend<flow_walks::V4>(flow_walks::ipv4_maps(fds_, conn_sets_), backend_id);
  if (ipv6_) n += flow_walks::count_for_backend<flow_walks::V6>(flow_walks::ipv6_maps(fds_, conn_sets_), backend_id);
  return n;
}

std::size_t LbMaps::erase_flows_for_backend(std::uint32_t backend_id) {
  const flow_walks::FlowMaps v4 = flow_walks::ipv4_maps(fds_, conn_sets_);
  const std::size_t n = flow_walks::erase_for_backend<flow_walks::V4>(v4, backend_id);
  add_controller_event(v4.controller_deletes, n);
  if (!ipv6_) return n;
  const flow_walks::FlowMaps v6 = flow_walks::ipv6_maps(fds_, conn_sets_);
  const std::size_t n6 = flow_walks::erase_for_backend<flow_walks::V6>(v6, backend_id);
  add_controller_event(v6.controller_deletes, n6);
  return n + n6;
}

void LbMaps::upsert_flows(std::span<const std::pair<pw_flow_key, pw_flow>> flows) {
  // Keys new to the table are inserts the programs did not count: they join the baseline, or
  // flow_fill() would report them as evicted once they go (lb_abi.h, PW_EV_FLOW_BASELINE).
  const flow_walks::FlowMaps maps = flow_walks::ipv4_maps(fds_, conn_sets_);
  add_controller_event(maps.baseline,
                       flow_walks::upsert<flow_walks::V4>(maps, flows, caps_.backends));
}

std::size_t LbMaps::move_flows_into_conns() {
  std::size_t n = flow_walks::move_into_conns<flow_walks::V4>(flow_walks::ipv4_maps(fds_, conn_sets_), caps_.backends);
  if (ipv6_) n += flow_walks::move_into_conns<flow_walks::V6>(flow_walks::ipv6_maps(fds_, conn_sets_), caps_.backends);
  return n;
}

std::size_t LbMaps::reverse_count() const {
  return count_keys<pw_flow_key>(fds_.reverse, "count reverse flows");
}

std::size_t LbMaps::fragment_count() const {
  return count_keys<pw_fragment_key>(fds_.fragments, "count fragments");
}

void LbMaps::clear_conntrack() {
  const flow_walks::FlowMaps maps = flow_walks::ipv4_maps(fds_, conn_sets_);
  add_controller_event(maps.controller_deletes, flow_walks::clear<flow_walks::V4>(maps));
  clear<pw_fragment_key>(fds_.fragments, "clear fragments");
  clear_conntrack6();
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

std::array<std::uint64_t, PW_EVENTS> LbMaps::all_events() const {
  std::array<std::uint64_t, PW_EVENTS> out{};
  if (!events_) {
    return out;
  }
  for (std::uint32_t e = 0; e < PW_EVENTS; ++e) {
    out[e] = events_->sum(e);
  }
  return out;
}

void LbMaps::add_controller_event(std::uint32_t event, std::uint64_t n) {
  constexpr const char* step = "count controller event";
  if (event != PW_EV_FLOW_CONTROLLER_DELETES && event != PW_EV_FLOW_BASELINE &&
      event != PW_EV_FLOW6_CONTROLLER_DELETES && event != PW_EV_FLOW6_BASELINE) {
    throw Error(step, EINVAL, "event " + std::to_string(event) + " is the programs' to count");
  }
  if (!events_ || n == 0) {
    return;
  }
  // The programs never write these entries, so a read-modify-write of CPU 0's slot cannot
  // lose one of their increments; user space writers are serialised by the pin-folder lock.
  std::vector<std::uint64_t> slots = events_->read(event);
  slots.at(0) += n;
  check(bpf_map_update_elem(fds_.events, &event, slots.data(), BPF_ANY), step);
}

FlowTableFill LbMaps::flow_fill() const {
  return fill_of(flow_walks::count<flow_walks::V4>(flow_walks::ipv4_maps(fds_, conn_sets_)), PW_EV_FLOW_INSERTS,
                 PW_EV_FLOW_DELETES, PW_EV_FLOW_CONTROLLER_DELETES, PW_EV_FLOW_BASELINE);
}

FlowTableFill LbMaps::fill_of(std::uint64_t entries, std::uint32_t inserts, std::uint32_t deletes,
                              std::uint32_t controller_deletes, std::uint32_t baseline) const {
  FlowTableFill f;
  // The connection table's ways hold the flows (pw_flows only what they cannot): its ways are
  // the capacity, 1.25 per flow of the setting (lb_abi.h, PW_CONN_SETS_FOR).
  f.capacity = conn_sets_ != 0 ? conn_sets_ * PW_CONN_WAYS : caps_.flows;
  f.entries = entries;
  if (!events_) {
    return f;
  }
  const auto ev = all_events();
  f.counted = true;
  f.inserted = ev[baseline] + ev[inserts];
  f.deleted = ev[deletes] + ev[controller_deletes];
  const std::uint64_t gone = f.deleted + f.entries;
  f.evicted = f.inserted > gone ? f.inserted - gone : 0;
  return f;
}

// ---- interfaces ---------------------------------------------------------------------------

void LbMaps::set_interface(std::uint32_t ifindex, const pw_interface& value) {
  constexpr const char* step = "set interface";
  if (!has_interfaces()) {
    throw Error(step, ENOENT, "pw_interfaces is not loaded (reload the fast path)");
  }
  if (ifindex == 0) {
    throw Error(step, EINVAL, "ifindex 0");
  }
  const auto before = lookup<std::uint32_t, pw_interface>(fds_.interfaces, ifindex, step);
  update(fds_.interfaces, ifindex, value, step);
  if (has_uplinks() && ifindex < PW_UPLINK_SLOTS) {
    update(fds_.uplinks, ifindex, (value.flags & PW_IF_UPLINK) ? value : pw_interface{}, step);
  }
  if (before && (before->flags & PW_IF_XDP_READY) && !(value.flags & PW_IF_XDP_READY)) {
    forget_nexthops_via(ifindex);
  }
}

bool LbMaps::erase_interface(std::uint32_t ifindex) {
  constexpr const char* step = "erase interface";
  if (!has_interfaces()) {
    return false;
  }
  if (has_uplinks() && ifindex < PW_UPLINK_SLOTS) update(fds_.uplinks, ifindex, pw_interface{}, step);
  const auto before = lookup<std::uint32_t, pw_interface>(fds_.interfaces, ifindex, step);
  const bool erased = erase(fds_.interfaces, ifindex, step);
  if (before && (before->flags & PW_IF_XDP_READY)) {
    forget_nexthops_via(ifindex);
  }
  return erased;
}

std::vector<pw_nexthop> LbMaps::all_nexthops() const {
  return read_array<pw_nexthop>(fds_.nexthops, caps_.backends, "read next hops");
}

// Only a lost readiness needs this (a stale "ready" would XDP-redirect into a device that may
// drop XDP frames); a gained one is picked up at the next refill, and until then frames take
// the tc hand-off, which every device accepts.
namespace {

// The ids (indexes) of the filled next hops that leave through ifindex, either family.
template <typename Nexthop>
std::vector<std::uint32_t> nexthops_through(const std::vector<Nexthop>& all, std::uint32_t ifindex) {
  std::vector<std::uint32_t> ids;
  for (std::uint32_t id = 0; id < all.size(); ++id) {
    if (all[id].ifindex == ifindex && all[id].expires_ns != 0) {
      ids.push_back(id);
    }
  }
  return ids;
}

}  // namespace

void LbMaps::forget_nexthops_via(std::uint32_t ifindex) {
  const auto ids = nexthops_through(all_nexthops(), ifindex);
  update_batch(fds_.nexthops, ids, std::vector<pw_nexthop>(ids.size()), "clear next hops");
  if (fds_.nexthops6 < 0) {
    return;
  }
  const auto ids6 = nexthops_through(all_nexthops6(), ifindex);
  update_batch(fds_.nexthops6, ids6, std::vector<pw_nexthop6>(ids6.size()), "clear IPv6 next hops");
}

std::vector<pw_nexthop6> LbMaps::all_nexthops6() const {
  if (fds_.nexthops6 < 0) {
    return {};
  }
  return read_array<pw_nexthop6>(fds_.nexthops6, caps_.backends, "read IPv6 next hops");
}

// ---- frontend generations and the prefix filter ------------------------------------------

std::vector<std::uint32_t> LbMaps::frontend_gens() const {
  if (!has_frontend_gens()) {
    return std::vector<std::uint32_t>(caps_.frontends, 0);
  }
  return read_array<std::uint32_t>(fds_.frontend_gens, caps_.frontends,
                                   "read frontend gens");
}

std::uint32_t LbMaps::frontend_gen(std::uint32_t id) const {
  constexpr const char* step = "read frontend gen";
  check_index(id, caps_.frontends, step, "frontend id");
  if (!has_frontend_gens()) {
    return 0;
  }
  return lookup<std::uint32_t, std::uint32_t>(fds_.frontend_gens, id, step).value_or(0);
}

void LbMaps::set_frontend_gens(std::span<const std::pair<std::uint32_t, std::uint32_t>> gens) {
  constexpr const char* step = "write frontend gens";
  if (!has_frontend_gens()) {
    return;
  }
  std::vector<std::uint32_t> ids;
  std::vector<std::uint32_t> values;
  for (const auto& [id, gen] : gens) {
    check_index(id, caps_.frontends, step, "frontend id");
    ids.push_back(id);
    values.push_back(gen);
  }
  update_batch(fds_.frontend_gens, ids, values, step);
}

pw_prefilter LbMaps::prefilter() const {
  if (!has_prefilter()) {
    return pw_prefilter{};
  }
  return lookup<std::uint32_t, pw_prefilter>(fds_.prefilter, 0u, "read prefilter").value_or(pw_prefilter{});
}

void LbMaps::set_prefilter(const pw_prefilter& value) {
  constexpr const char* step = "write prefilter";
  if (!has_prefilter()) {
    throw Error(step, ENOENT, "pw_prefilter is not loaded (reload the fast path)");
  }
  if (value.count4 > PW_PREFILTER_V4 || value.count6 > PW_PREFILTER_V6) {
    throw Error(step, EINVAL, "more prefixes than the filter holds");
  }
  for (std::uint32_t i = 0; i < value.count4; ++i) {
    if (!prefix_ok(reinterpret_cast<const std::uint8_t*>(&value.v4[i].addr),
                   reinterpret_cast<const std::uint8_t*>(&value.v4[i].mask), 4)) {
      throw Error(step, EINVAL, "IPv4 prefix " + std::to_string(i) + " is not a prefix");
    }
  }
  for (std::uint32_t i = 0; i < value.count6; ++i) {
    if (!prefix_ok(reinterpret_cast<const std::uint8_t*>(&value.v6[i].addr),
                   reinterpret_cast<const std::uint8_t*>(&value.v6[i].mask), 16)) {
      throw Error(step, EINVAL, "IPv6 prefix " + std::to_string(i) + " is not a prefix");
    }
  }
  update(fds_.prefilter, 0u, value, step);
}

pw_interface LbMaps::uplink_slot(std::uint32_t ifindex) const {
  if (!has_uplinks() || ifindex >= PW_UPLINK_SLOTS) return {};
  return lookup<std::uint32_t, pw_interface>(fds_.uplinks, ifindex, "read uplink slot").value_or(pw_interface{});
}

std::vector<std::pair<std::uint32_t, pw_interface>> LbMaps::interfaces() const {
  if (!has_interfaces()) {
    return {};
  }
  return dump<std::uint32_t, pw_interface>(fds_.interfaces, "list interfaces");
}

}  // namespace portway::loader
