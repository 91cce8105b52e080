// The connection-tracking walks LbMaps does for both families (pw_flows/pw_reverse and
// pw_flows6/pw_reverse6): the two families' structs differ only in the width of their
// addresses and share every field name, so one template serves both. Internal to the loader.
#pragma once

#include <bpf/bpf.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "loader/lb_map_ops.h"
#include "loader/lb_maps.h"
#include "portway/lb_abi.h"

namespace portway::loader::flow_walks {

// One family's flow and reverse maps, the user-space events that count what the controller
// does to them (lb_abi.h, pw_events) and the family's word for messages ("" or "IPv6 ").
struct FlowMaps {
  int flows = -1;
  int reverse = -1;
  std::uint32_t controller_deletes = 0;  // PW_EV_FLOW_CONTROLLER_DELETES / PW_EV_FLOW6_...
  std::uint32_t baseline = 0;            // PW_EV_FLOW_BASELINE / PW_EV_FLOW6_BASELINE
  const char* family = "";
};

inline FlowMaps ipv4_maps(const LbMapFds& fds) {
  return {fds.flows, fds.reverse, PW_EV_FLOW_CONTROLLER_DELETES, PW_EV_FLOW_BASELINE, ""};
}

inline FlowMaps ipv6_maps(const LbMapFds& fds) {
  return {fds.flows6, fds.reverse6, PW_EV_FLOW6_CONTROLLER_DELETES, PW_EV_FLOW6_BASELINE, "IPv6 "};
}

inline std::string step(const FlowMaps& m, const char* verb, const char* what) {
  return std::string(verb) + " " + m.family + what;
}

// The reverse-map key of a flow, as the BPF programs derive it (bpf/lib/conntrack.h,
// conntrack6.h): the reply's tuple, from the backend's target port to the client (or, for a
// hairpin, to the source NAT address) at the client's port.
template <typename Key, typename Flow>
Key reverse_key(const Key& key, const Flow& flow) {
  Key rk{};
  rk.saddr = flow.backend_addr;
  rk.daddr = (flow.flags & PW_FLOW_HAIRPIN) != 0 ? flow.snat_addr : key.saddr;
  rk.sport = flow.target_port;
  rk.dport = key.sport;
  rk.proto = key.proto;
  return rk;
}

// What the program records in the reverse map for a new flow.
template <typename Reverse, typename Key, typename Flow>
Reverse reverse_value(const Key& key, const Flow& flow) {
  Reverse rev{};
  rev.frontend_addr = key.daddr;
  rev.frontend_port = key.dport;
  rev.flags = flow.flags;
  rev.client_addr = key.saddr;
  return rev;
}

template <typename Key, typename Flow>
std::size_t count_for_backend(const FlowMaps& m, std::uint32_t backend_id) {
  std::size_t n = 0;
  for (const auto& [key, value] : map_ops::dump<Key, Flow>(m.flows, step(m, "list", "flows").c_str()))
    n += value.backend_id == backend_id ? 1 : 0;
  return n;
}

// Deletes the backend's flows and their reverse entries; returns how many flows.
template <typename Key, typename Flow>
std::size_t erase_for_backend(const FlowMaps& m, std::uint32_t backend_id) {
  const std::string reverse_step = step(m, "erase", "reverse flow");
  const std::string flow_step = step(m, "erase", "flow");
  std::size_t n = 0;
  for (const auto& [key, value] : map_ops::dump<Key, Flow>(m.flows, step(m, "list", "flows").c_str())) {
    if (value.backend_id != backend_id) continue;
    (void)map_ops::erase(m.reverse, reverse_key(key, value), reverse_step.c_str());
    n += map_ops::erase(m.flows, key, flow_step.c_str()) ? 1 : 0;
  }
  return n;
}

// Writes each flow and its reverse entry, replacing entries with the same keys; validates
// every backend id against `backends` first (nothing is written when one is out of range).
// Returns how many keys were new to the flow table.
template <typename Key, typename Flow, typename Reverse>
std::uint64_t upsert(const FlowMaps& m, std::span<const std::pair<Key, Flow>> flows, std::uint32_t backends) {
  const std::string write_step = step(m, "write", "flow");
  std::vector<Key> keys, reverse_keys;
  std::vector<Flow> values;
  std::vector<Reverse> reverse_values;
  keys.reserve(flows.size());
  values.reserve(flows.size());
  reverse_keys.reserve(flows.size());
  reverse_values.reserve(flows.size());
  for (const auto& [key, flow] : flows) {
    map_ops::check_index(flow.backend_id, backends, write_step.c_str(), "backend id");
    keys.push_back(key);
    values.push_back(flow);
    reverse_keys.push_back(reverse_key(key, flow));
    reverse_values.push_back(reverse_value<Reverse>(key, flow));
  }
  std::uint64_t added = 0;
  Flow existing{};
  for (const auto& key : keys)
    if (bpf_map_lookup_elem(m.flows, &key, &existing) != 0) ++added;
  // Reverse entries first: a reply must never find a flow's translation half-installed, and a
  // reverse entry without its flow is harmless (the program only looks at it for replies).
  map_ops::update_batch(m.reverse, reverse_keys, reverse_values, step(m, "write", "reverse flows").c_str());
  map_ops::update_batch(m.flows, keys, values, step(m, "write", "flows").c_str());
  return added;
}

// Empties the flow and reverse maps; returns how many flows it deleted.
template <typename Key>
std::size_t clear(const FlowMaps& m) {
  const std::size_t n = map_ops::clear<Key>(m.flows, step(m, "clear", "flows").c_str());
  map_ops::clear<Key>(m.reverse, step(m, "clear", "reverse flows").c_str());
  return n;
}

}  // namespace portway::loader::flow_walks
