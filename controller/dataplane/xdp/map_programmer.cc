#include "dataplane/xdp/map_programmer.h"

#include <arpa/inet.h>

#include <cerrno>

#include "lb/maglev.h"
#include "loader/error.h"

namespace portway::dataplane::xdp {

void MapProgrammer::apply(const state::StateDiff& d) {
  for (const auto& set : d.backend_sets.added) add_set(set);
  for (const auto& change : d.backend_sets.changed) change_set(change);
  for (const auto& f : d.frontends.added) put_frontend(f, true);
  for (const auto& [before, after] : d.frontends.changed) put_frontend(after, false);
  for (const auto& n : d.node_ports.added) put_node_port(n, true);
  for (const auto& [before, after] : d.node_ports.changed) put_node_port(after, false);
  for (const auto& f : d.frontends.removed) remove_frontend(f);
  for (const auto& n : d.node_ports.removed) remove_node_port(n);
  for (const auto& set : d.backend_sets.removed) remove_set(set);
  view_.state = state::patch(view_.state, d);
  repair_stale_tables(d);
}

// Tables found not matching their members when the maps were read back: rebuilt from the
// members, unless this diff already installed (or removed) the set.
void MapProgrammer::repair_stale_tables(const state::StateDiff& d) {
  if (view_.stale_tables.empty()) return;
  std::set<std::string> done;
  for (const auto& set : d.backend_sets.added) done.insert(set.id);
  for (const auto& change : d.backend_sets.changed) done.insert(change.id);
  for (const auto& set : d.backend_sets.removed) done.insert(set.id);
  for (const auto& set : view_.state.backend_sets()) {
    auto it = view_.set_ids.find(set.id);
    if (it == view_.set_ids.end() || !view_.stale_tables.count(it->second) || done.count(set.id))
      continue;
    install_table(it->second, set.members);
  }
  view_.stale_tables.clear();
}

void MapProgrammer::put_member(std::uint32_t set_id, const state::Member& m) {
  const auto key = std::make_pair(set_id, m.ipv4.value);
  auto it = view_.backend_ids.find(key);
  const std::uint32_t id =
      it != view_.backend_ids.end() ? it->second : view_.backend_pool.allocate("backend id");
  view_.backend_ids[key] = id;
  pw_backend be{};
  be.addr = htonl(m.ipv4.value);
  be.set_id = set_id;
  be.state = m.state == state::MemberState::draining ? PW_BACKEND_DRAINING : PW_BACKEND_RUNNING;
  maps_.set_backend(id, be);
}

// New flows go to running members only; draining ones keep their flows through conntrack.
void MapProgrammer::install_table(std::uint32_t set_id, const std::vector<state::Member>& members) {
  std::vector<lb::MaglevBackend> running;
  std::vector<std::uint32_t> running_ids;
  for (const auto& m : members) {
    if (m.state != state::MemberState::running) continue;
    running.push_back({net::to_string(m.ipv4)});
    running_ids.push_back(view_.backend_ids.at({set_id, m.ipv4.value}));
  }
  if (running.empty()) {
    maps_.install_backend_set(set_id, {});
    return;
  }
  const std::uint32_t m = lb::maglev_table_size_for(running.size(), smallest_table_);
  if (m == 0)
    throw loader::Error("Maglev table", E2BIG,
                        std::to_string(running.size()) + " running backends in one set (max 256)");
  std::vector<std::uint32_t> table = lb::build_maglev_table(running, m);
  for (auto& slot : table) slot = running_ids[slot];
  maps_.install_backend_set(set_id, table);
}

void MapProgrammer::add_set(const state::BackendSet& set) {
  const std::uint32_t id = view_.set_pool.allocate("backend set id");
  view_.set_ids[set.id] = id;
  meta_.set_set_name(id, set.id);
  for (const auto& m : set.members) put_member(id, m);
  install_table(id, set.members);
}

void MapProgrammer::change_set(const state::BackendSetChange& change) {
  const std::uint32_t set_id = view_.set_ids.at(change.id);
  for (const auto& m : change.members.added) put_member(set_id, m);
  for (const auto& [before, after] : change.members.changed) put_member(set_id, after);
  install_table(set_id, change.after);
  // Only now that no table slot names them: flows still pinned to a removed backend find it
  // UNUSED (TCP: reset; UDP: re-balanced), and a reused id is told apart by its address.
  for (const auto& m : change.members.removed) {
    auto it = view_.backend_ids.find({set_id, m.ipv4.value});
    if (it == view_.backend_ids.end()) continue;
    maps_.clear_backend(it->second);
    view_.backend_pool.release(it->second);
    view_.backend_ids.erase(it);
  }
}

void MapProgrammer::remove_set(const state::BackendSet& set) {
  auto it = view_.set_ids.find(set.id);
  if (it == view_.set_ids.end()) return;
  const std::uint32_t set_id = it->second;
  maps_.clear_backend_set(set_id);
  for (const auto& m : set.members) {
    auto be = view_.backend_ids.find({set_id, m.ipv4.value});
    if (be == view_.backend_ids.end()) continue;
    maps_.clear_backend(be->second);
    view_.backend_pool.release(be->second);
    view_.backend_ids.erase(be);
  }
  meta_.erase_set(set_id);
  view_.set_pool.release(set_id);
  view_.set_ids.erase(it);
}

namespace {
// Frontend and node-port ids come from one pool (one counters array); each kind keeps its
// own key -> id index.
template <class Key>
std::uint32_t id_for(std::map<Key, std::uint32_t>& ids, IdPool& pool, const Key& key, bool is_new) {
  if (!is_new) return ids.at(key);
  const std::uint32_t id = pool.allocate("frontend id");
  ids[key] = id;
  return id;
}

template <class Key>
void release_id(std::map<Key, std::uint32_t>& ids, IdPool& pool, MetaMaps& meta, const Key& key) {
  auto it = ids.find(key);
  if (it == ids.end()) return;
  meta.erase_frontend(it->second);
  pool.release(it->second);
  ids.erase(it);
}
}  // namespace

void MapProgrammer::write_entry(const pw_frontend_key& key, std::uint32_t id,
                                const std::string& backend_set, std::uint16_t target_port,
                                const std::string& port_name) {
  meta_.set_frontend_name(id, port_name);
  pw_frontend value{};
  value.id = id;
  value.set_id = view_.set_ids.at(backend_set);
  value.target_port = htons(target_port);
  maps_.upsert_frontend(key, value);
}

void MapProgrammer::put_frontend(const state::Frontend& f, bool is_new) {
  const std::uint32_t id = id_for(view_.frontend_ids, view_.frontend_pool, f.key, is_new);
  write_entry(frontend_key_of(f.key), id, f.backend_set, f.target_port, f.port_name);
  sync_service_addr(std::get<net::Ipv4>(f.key.address).value);
}

void MapProgrammer::put_node_port(const state::NodePort& n, bool is_new) {
  const std::uint32_t id = id_for(view_.node_port_ids, view_.frontend_pool, n.key, is_new);
  write_entry(node_port_key_of(n.key), id, n.backend_set, n.target_port, n.port_name);
}

void MapProgrammer::remove_frontend(const state::Frontend& f) {
  maps_.erase_frontend(frontend_key_of(f.key));
  release_id(view_.frontend_ids, view_.frontend_pool, meta_, f.key);
  sync_service_addr(std::get<net::Ipv4>(f.key.address).value);
}

void MapProgrammer::remove_node_port(const state::NodePort& n) {
  maps_.erase_frontend(node_port_key_of(n.key));
  release_id(view_.node_port_ids, view_.frontend_pool, meta_, n.key);
}

// An address is a service address while any frontend uses it: then undeclared ports on it
// are rejected rather than passed to the stack.
void MapProgrammer::sync_service_addr(std::uint32_t addr) {
  const state::FrontendKey lowest{net::Ipv4{addr}, 0, config::Protocol::tcp};
  auto it = view_.frontend_ids.lower_bound(lowest);
  const bool used = it != view_.frontend_ids.end() &&
                    std::holds_alternative<net::Ipv4>(it->first.address) &&
                    std::get<net::Ipv4>(it->first.address).value == addr;
  if (used)
    maps_.upsert_service_addr(htonl(addr));
  else
    maps_.erase_service_addr(htonl(addr));
}

}  // namespace portway::dataplane::xdp
