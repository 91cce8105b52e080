// The connection-tracking walks LbMaps does for both families (pw_conn_sets, pw_flows and
// pw_reverse, and their IPv6 counterparts): the two families' structs differ only in the width
// of their addresses and share every field name, so one template serves both. A flow lives in
// the connection table (one entry read by both directions; loader/conn_sets.h) or, when that
// cannot hold it, in pw_flows with its reverse entry (lb_abi.h, pw_conns); these walks see one
// table of flows, as the programs do. Internal to the loader.
#pragma once

#include <bpf/bpf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "loader/conn_sets.h"
#include "loader/lb_map_ops.h"
#include "loader/lb_maps.h"
#include "portway/lb_abi.h"

namespace portway::loader::flow_walks {

// One family's maps, the user-space events that count what the controller does to them
// (lb_abi.h, pw_events) and the family's word for messages ("" or "IPv6 ").
struct FlowMaps {
  conn_sets::Table conns;  // map -1: no connection table, every flow is in `flows`
  int flows = -1;
  int reverse = -1;
  std::uint32_t controller_deletes = 0;  // PW_EV_FLOW_CONTROLLER_DELETES / PW_EV_FLOW6_...
  std::uint32_t baseline = 0;            // PW_EV_FLOW_BASELINE / PW_EV_FLOW6_BASELINE
  const char* family = "";
};

// `sets`: the connection tables' set count (their max_entries, checked by LbMaps).
inline FlowMaps ipv4_maps(const LbMapFds& fds, std::uint32_t sets) {
  return {{fds.conn_sets, fds.conn_ctl4, sets, ""}, fds.flows, fds.reverse, PW_EV_FLOW_CONTROLLER_DELETES,
          PW_EV_FLOW_BASELINE, ""};
}

inline FlowMaps ipv6_maps(const LbMapFds& fds, std::uint32_t sets) {
  return {{fds.conn_sets6, fds.conn_ctl6, sets, "IPv6 "}, fds.flows6, fds.reverse6, PW_EV_FLOW6_CONTROLLER_DELETES,
          PW_EV_FLOW6_BASELINE, "IPv6 "};
}

inline std::string step(const FlowMaps& m, const char* verb, const char* what) {
  return std::string(verb) + " " + m.family + what;
}

// The family's types: the flow key and value, the reverse value, the connection key and value
// and the connection table's operation.
template <typename K, typename F, typename R, typename CK, typename C, typename Op>
struct Family {
  using Key = K;
  using Flow = F;
  using Reverse = R;
  using ConnKey = CK;
  using Conn = C;
  using Ctl = Op;
};
using V4 = Family<pw_flow_key, pw_flow, pw_reverse, pw_conn_key, pw_conn, pw_conn_ctl>;
using V6 = Family<pw_flow6_key, pw_flow6, pw_reverse6, pw_conn6_key, pw_conn6, pw_conn6_ctl>;

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

// The connection key of a flow: the client's address and port.
template <typename Fam>
typename Fam::ConnKey conn_key_of(const typename Fam::Key& key) {
  typename Fam::ConnKey ck{};
  ck.client_addr = key.saddr;
  ck.client_port = key.sport;
  ck.proto = key.proto;
  return ck;
}

template <typename Fam>
bool conn_is(const typename Fam::Conn& c, const typename Fam::Key& key) {
  return std::memcmp(&c.frontend_addr, &key.daddr, sizeof(key.daddr)) == 0 &&
         c.frontend_port == key.dport;
}

template <typename Fam>
std::pair<typename Fam::Key, typename Fam::Flow> flow_of_conn(const typename Fam::ConnKey& ck,
                                                              const typename Fam::Conn& c) {
  typename Fam::Key key{};
  key.saddr = ck.client_addr;
  key.daddr = c.frontend_addr;
  key.sport = ck.client_port;
  key.dport = c.frontend_port;
  key.proto = ck.proto;
  return {key, c.flow};
}

template <typename T>
std::string bytes_of(const T& v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof(v));
}

// The flow of a tuple, looked up as the programs do: the connection table, then pw_flows.
template <typename Fam>
std::optional<typename Fam::Flow> find(const FlowMaps& m, const typename Fam::Key& key) {
  if (m.conns.map >= 0) {
    const auto c = conn_sets::lookup(m.conns, conn_key_of<Fam>(key));
    if (c && conn_is<Fam>(*c, key)) return c->flow;
  }
  typename Fam::Flow f{};
  if (bpf_map_lookup_elem(m.flows, &key, &f) == 0) return f;
  return std::nullopt;
}

// The translation of a reply with tuple `rk` (backend -> client, as it leaves the backend), as
// the programs find it (pw_reverse_find): the client's connection when it is this backend's
// flow, else pw_reverse.
template <typename Fam>
std::optional<typename Fam::Reverse> reply(const FlowMaps& m, const typename Fam::Key& rk) {
  if (m.conns.map >= 0) {
    typename Fam::ConnKey ck{};
    ck.client_addr = rk.daddr;
    ck.client_port = rk.dport;
    ck.proto = rk.proto;
    const auto c = conn_sets::lookup(m.conns, ck);
    if (c && std::memcmp(&c->flow.backend_addr, &rk.saddr, sizeof(rk.saddr)) == 0 &&
        c->flow.target_port == rk.sport) {
      typename Fam::Reverse r{};
      r.frontend_addr = c->frontend_addr;
      r.frontend_port = c->frontend_port;
      r.client_addr = rk.daddr;
      return r;
    }
  }
  typename Fam::Reverse r{};
  if (bpf_map_lookup_elem(m.reverse, &rk, &r) == 0) return r;
  return std::nullopt;
}

// Every flow once: the connection table's, then pw_flows' (a tuple in both, which two CPUs
// racing for one client's entry can leave, is listed as the connection table has it: the
// programs read that one).
template <typename Fam>
std::vector<std::pair<typename Fam::Key, typename Fam::Flow>> list(const FlowMaps& m) {
  using Key = typename Fam::Key;
  using Flow = typename Fam::Flow;
  std::vector<std::pair<Key, Flow>> out;
  std::unordered_set<std::string> in_conns;
  if (m.conns.map >= 0) {
    conn_sets::for_each<typename Fam::ConnKey>(m.conns, [&](const typename Fam::ConnKey& ck, const typename Fam::Conn& c) {
      out.push_back(flow_of_conn<Fam>(ck, c));
      in_conns.insert(bytes_of(out.back().first));
    });
  }
  for (auto& entry : map_ops::dump<Key, Flow>(m.flows, step(m, "list", "flows").c_str()))
    if (!in_conns.contains(bytes_of(entry.first))) out.push_back(std::move(entry));
  return out;
}

template <typename Fam>
std::size_t count_for_backend(const FlowMaps& m, std::uint32_t backend_id) {
  std::size_t n = 0;
  for (const auto& [key, value] : list<Fam>(m)) n += value.backend_id == backend_id ? 1 : 0;
  return n;
}

// Deletes the backend's flows (and their reverse entries); returns how many flows.
template <typename Fam>
std::size_t erase_for_backend(const FlowMaps& m, std::uint32_t backend_id) {
  using Key = typename Fam::Key;
  using Flow = typename Fam::Flow;
  const std::string reverse_step = step(m, "erase", "reverse flow");
  const std::string flow_step = step(m, "erase", "flow");
  std::size_t n = 0;
  if (m.conns.map >= 0) {
    // Deleted only while still this backend's: a way rewritten for a new connection since the
    // walk read it stays.
    std::vector<typename Fam::Ctl> ops;
    conn_sets::for_each<typename Fam::ConnKey>(m.conns, [&](const typename Fam::ConnKey& ck, const typename Fam::Conn& c) {
      if (c.flow.backend_id != backend_id) return;
      typename Fam::Ctl op{};
      op.code = PW_CONN_CTL_DELETE;
      op.backend_id = backend_id;
      op.key = ck;
      ops.push_back(op);
    });
    if (!ops.empty())
      for (const auto& op : conn_sets::run(m.conns, std::move(ops))) n += op.result == PW_CONN_CTL_DELETED ? 1 : 0;
  }
  for (const auto& [key, value] : map_ops::dump<Key, Flow>(m.flows, step(m, "list", "flows").c_str())) {
    if (value.backend_id != backend_id) continue;
    (void)map_ops::erase(m.reverse, reverse_key(key, value), reverse_step.c_str());
    n += map_ops::erase(m.flows, key, flow_step.c_str()) ? 1 : 0;
  }
  return n;
}

// Writes each flow where the programs would have recorded it (pw_flow_create): into the
// connection table when the flow is no hairpin and the client's way is free, already this
// tuple's, or a dead flow's, and the set has room (a carried flow never evicts a live
// connection: lib/conn_ctl.h); else into pw_flows with its reverse entry. Replaces entries
// with the same keys. Validates every backend id against `backends` first (nothing is written
// when one is out of range). Returns how many tuples were new to the flow tables.
template <typename Fam>
std::uint64_t upsert(const FlowMaps& m, std::span<const std::pair<typename Fam::Key, typename Fam::Flow>> flows,
                     std::uint32_t backends) {
  using Key = typename Fam::Key;
  using Flow = typename Fam::Flow;
  const std::string write_step = step(m, "write", "flow");
  for (const auto& [key, flow] : flows) map_ops::check_index(flow.backend_id, backends, write_step.c_str(), "backend id");

  std::vector<Key> keys, reverse_keys;
  std::vector<Flow> values;
  std::vector<typename Fam::Reverse> reverse_values;
  const auto to_flows = [&](const Key& key, const Flow& flow) {
    keys.push_back(key);
    values.push_back(flow);
    reverse_keys.push_back(reverse_key(key, flow));
    reverse_values.push_back(reverse_value<typename Fam::Reverse>(key, flow));
  };
  std::vector<typename Fam::Ctl> puts;
  std::vector<std::size_t> put_flow;  // puts[i] is flows[put_flow[i]]
  std::uint64_t added = 0;
  for (std::size_t i = 0; i < flows.size(); ++i) {
    const auto& [key, flow] = flows[i];
    if (!find<Fam>(m, key)) ++added;
    if (m.conns.map < 0 || (flow.flags & PW_FLOW_HAIRPIN) != 0) {
      to_flows(key, flow);
      continue;
    }
    typename Fam::Ctl op{};
    op.code = PW_CONN_CTL_PUT;
    op.key = conn_key_of<Fam>(key);
    op.conn.flow = flow;
    op.conn.frontend_addr = key.daddr;
    op.conn.frontend_port = key.dport;
    puts.push_back(op);
    put_flow.push_back(i);
  }
  // One entry carries both directions: a reply never finds a connection half-installed.
  if (!puts.empty()) puts = conn_sets::run(m.conns, std::move(puts));
  for (std::size_t i = 0; i < puts.size(); ++i) {
    const auto& [key, flow] = flows[put_flow[i]];
    if (puts[i].result == PW_CONN_CTL_TAKEN || puts[i].result == PW_CONN_CTL_FULL) {
      to_flows(key, flow);
      continue;
    }
    // The same tuple's older entry in pw_flows goes once the connection table answers for it
    // (the programs read that first), so that no tuple is held twice.
    if (const auto old = map_ops::lookup<Key, Flow>(m.flows, key, step(m, "look up", "flow").c_str())) {
      (void)map_ops::erase(m.flows, key, step(m, "erase", "flow").c_str());
      (void)map_ops::erase(m.reverse, reverse_key(key, *old), step(m, "erase", "reverse flow").c_str());
    }
  }
  // Reverse entries first: a reply must never find a flow's translation half-installed, and a
  // reverse entry without its flow is harmless (the program only looks at it for replies).
  map_ops::update_batch(m.reverse, reverse_keys, reverse_values, step(m, "write", "reverse flows").c_str());
  map_ops::update_batch(m.flows, keys, values, step(m, "write", "flows").c_str());
  return added;
}

// Moves the flows of pw_flows that the connection table can hold (no hairpin, the client's way
// free, room in its set) into it, deleting them and their reverse entries from
// pw_flows/pw_reverse once the table answers for them, as upsert() does; the rest stay. For
// the flows an upgrade from layout 3 finds: left where they were, they would keep pw_flows
// populated and every new flow's second lookup cold. Call only once every program reads the
// connection table. Returns how many moved.
template <typename Fam>
std::size_t move_into_conns(const FlowMaps& m, std::uint32_t backends) {
  if (m.conns.map < 0) return 0;
  const auto before = map_ops::dump<typename Fam::Key, typename Fam::Flow>(m.flows, step(m, "list", "flows").c_str());
  std::vector<std::pair<typename Fam::Key, typename Fam::Flow>> movable;
  for (const auto& entry : before)
    if ((entry.second.flags & PW_FLOW_HAIRPIN) == 0) movable.push_back(entry);
  (void)upsert<Fam>(m, movable, backends);
  const std::size_t after = map_ops::count_keys<typename Fam::Key>(m.flows, step(m, "count", "flows").c_str());
  return before.size() > after ? before.size() - after : 0;
}

// Empties the family's flow maps; returns how many flows it deleted.
template <typename Fam>
std::size_t clear(const FlowMaps& m) {
  std::size_t n = 0;
  if (m.conns.map >= 0) n += conn_sets::clear<typename Fam::ConnKey>(m.conns);
  n += map_ops::clear<typename Fam::Key>(m.flows, step(m, "clear", "flows").c_str());
  map_ops::clear<typename Fam::Key>(m.reverse, step(m, "clear", "reverse flows").c_str());
  return n;
}

// Entries of the family's flow maps (the connection table and pw_flows).
template <typename Fam>
std::size_t count(const FlowMaps& m) {
  std::size_t n = map_ops::count_keys<typename Fam::Key>(m.flows, step(m, "count", "flows").c_str());
  if (m.conns.map >= 0) n += conn_sets::count<typename Fam::ConnKey>(m.conns);
  return n;
}

}  // namespace portway::loader::flow_walks
