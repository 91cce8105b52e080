#include "dataplane/xdp/map_programmer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <map>
#include <optional>
#include <thread>

#include "lb/maglev.h"
#include "loader/error.h"

namespace portway::dataplane::xdp {
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

// The id released, if the key had one.
template <class Key>
std::optional<std::uint32_t> release_id(std::map<Key, std::uint32_t>& ids, IdPool& pool,
                                        MetaMaps& meta, const Key& key) {
  auto it = ids.find(key);
  if (it == ids.end()) return std::nullopt;
  const std::uint32_t id = it->second;
  meta.erase_frontend(id);
  pool.release(id);
  ids.erase(it);
  return id;
}

// Tables of a full programming are built on every core: Maglev's fill is most of its CPU
// time (10,000 tables of 4093 slots). Below this many, threads cost more than they save.
constexpr std::size_t kParallelTables = 64;

// Frontend gens a diff reads with single lookups; above, the whole array in one batch.
constexpr std::size_t kGensReadOneByOne = 64;

}  // namespace

void MapProgrammer::apply(const state::StateDiff& d) {
  // The view first: a diff that does not fit the installed state throws before any map is
  // written (and a failure further down makes the caller re-read the kernel).
  state::patch_in_place(view_.state, d);

  // 1. Backend sets added or changed, and stale tables found on read-back: members first
  //    (a table must never name a backend that is not written yet), then the tables.
  MemberWrites member_writes;
  std::vector<std::pair<std::uint32_t, std::string>> set_names;
  std::vector<TableJob> jobs;
  std::set<std::string> in_diff;
  for (const auto& set : d.backend_sets.added) {
    const std::uint32_t id = view_.set_pool.allocate("backend set id");
    view_.set_ids[set.id] = id;
    set_names.emplace_back(id, set.id);
    for (const auto& m : set.members) put_member(id, m, member_writes);
    add_table_jobs(jobs, id, &set.members);
    in_diff.insert(set.id);
  }
  std::vector<std::pair<std::uint32_t, std::vector<state::Member>>> released;
  for (const auto& change : d.backend_sets.changed) {
    const std::uint32_t id = view_.set_ids.at(change.id);
    released.emplace_back(id, carry_backend_ids(id, change.members.removed, change.members.added));
    for (const auto& m : change.members.added) put_member(id, m, member_writes);
    for (const auto& [before, after] : change.members.changed) put_member(id, after, member_writes);
    add_table_jobs(jobs, id, &change.after);
    in_diff.insert(change.id);
  }
  for (const auto& set : d.backend_sets.removed) in_diff.insert(set.id);
  // Stale tables (read_installed): rebuilt from the members they have, unless the diff does.
  for (const auto& set : view_.stale_tables.empty() ? std::span<const state::BackendSet>{}
                                                    : view_.state.backend_sets()) {
    auto it = view_.set_ids.find(set.id);
    if (it != view_.set_ids.end() && view_.stale_tables.count(it->second) && !in_diff.count(set.id))
      add_table_jobs(jobs, it->second, &set.members);
  }
  meta_.set_set_names(set_names);
  write_members(member_writes);
  install_tables(jobs);
  view_.stale_tables.clear();
  // Only now that no table slot names them: flows still pinned to a removed backend find it
  // UNUSED (TCP: reset; UDP: re-balanced), and a reused id is told apart by its address.
  for (const auto& [set_id, members] : released) release_members(set_id, members);

  // 2. Frontends and node ports added or changed, in one batch. An id given to a frontend gets
  //    a new gen first (lb_abi.h, pw_frontend_gens), so flows of whatever held the id before
  //    are never used for it; a changed frontend keeps its gen, and with it its flows.
  //    Without pw_frontend_gens (pins not upgraded yet) every gen stays 0, which is what the
  //    array holds once it is created.
  //    A few ids are read one by one (a daemon's diff: no 64k-entry read per change), many
  //    with one batched read of the whole array (a full programming).
  const std::size_t frontends_written = d.frontends.added.size() + d.frontends.removed.size() +
                                        d.node_ports.added.size() + d.node_ports.removed.size() +
                                        d.frontends.changed.size() + d.node_ports.changed.size();
  std::vector<std::uint32_t> all_gens;
  if (frontends_written > kGensReadOneByOne) all_gens = maps_.frontend_gens();
  std::map<std::uint32_t, std::uint32_t> gens;
  auto gen_of = [&](std::uint32_t id) -> std::uint32_t& {
    auto it = gens.find(id);
    if (it == gens.end())
      it = gens.emplace(id, all_gens.empty() ? maps_.frontend_gen(id) : all_gens.at(id)).first;
    return it->second;
  };
  std::vector<std::pair<std::uint32_t, std::uint32_t>> gen_writes;
  auto bump = [&](std::uint32_t id) {
    if (maps_.has_frontend_gens()) gen_writes.emplace_back(id, ++gen_of(id));
  };
  auto gen_for = [&](std::uint32_t id, bool is_new) {
    if (is_new) bump(id);
    return gen_of(id);
  };
  std::vector<std::pair<pw_frontend_key, pw_frontend>> entries;
  std::vector<std::pair<std::uint32_t, std::string>> port_names;
  std::set<std::uint32_t> touched_addrs;
  entries6_.clear();
  touched_addrs6_.clear();
  auto put_frontend = [&](const state::Frontend& f, bool is_new) {
    const std::uint32_t id = id_for(view_.frontend_ids, view_.frontend_pool, f.key, is_new);
    port_names.emplace_back(id, f.port_name);
    const pw_frontend value = entry(id, gen_for(id, is_new), f.backend_set, f.target_port);
    if (std::holds_alternative<net::Ipv6>(f.key.address)) {
      put_frontend6(f, value);
      return;
    }
    entries.emplace_back(frontend_key_of(f.key), value);
    touched_addrs.insert(std::get<net::Ipv4>(f.key.address).value);
  };
  auto put_node_port = [&](const state::NodePort& n, bool is_new) {
    const std::uint32_t id = id_for(view_.node_port_ids, view_.frontend_pool, n.key, is_new);
    port_names.emplace_back(id, n.port_name);
    entries.emplace_back(node_port_key_of(n.key), entry(id, gen_for(id, is_new), n.backend_set, n.target_port));
    put_node_port6(n, entries.back().second);
  };
  for (const auto& f : d.frontends.added) put_frontend(f, true);
  for (const auto& [before, after] : d.frontends.changed) put_frontend(after, false);
  for (const auto& n : d.node_ports.added) put_node_port(n, true);
  for (const auto& [before, after] : d.node_ports.changed) put_node_port(after, false);
  rewrite_stale_node_ports(d, entries);
  meta_.set_frontend_names(port_names);
  maps_.set_frontend_gens(gen_writes);
  maps_.upsert_frontends(entries);
  write_frontends6();

  // 3. Removals: frontends before the sets they used. The id's gen moves on once its key is
  //    gone, so the removed frontend's flows are not used from then on.
  gen_writes.clear();
  for (const auto& f : d.frontends.removed) {
    if (auto id = remove_frontend(f)) bump(*id);
    if (const auto* v4 = std::get_if<net::Ipv4>(&f.key.address)) touched_addrs.insert(v4->value);
  }
  for (const auto& n : d.node_ports.removed)
    if (auto id = remove_node_port(n)) bump(*id);
  maps_.set_frontend_gens(gen_writes);
  remove_orphan_frontends6();
  for (const auto& set : d.backend_sets.removed) remove_set(set);
  sync_service_addrs(touched_addrs);
  sync_service_addrs6(touched_addrs6_);
}

void MapProgrammer::put_member(std::uint32_t set_id, const state::Member& m, MemberWrites& writes) {
  if (!m.ipv4 && !maps_.has_ipv6())
    throw loader::Error("backend " + state::to_string(m.key()), ENOENT,
                        "an IPv6-only member needs the IPv6 maps (pinned layout 2)");
  const auto key = std::make_pair(set_id, m.key());
  auto it = view_.backend_ids.find(key);
  const std::uint32_t id =
      it != view_.backend_ids.end() ? it->second : view_.backend_pool.allocate("backend id");
  view_.backend_ids[key] = id;
  pw_backend be{};
  be.addr = m.ipv4 ? htonl(m.ipv4->value) : 0;  // 0: IPv6-only (lb_abi.h)
  be.set_id = set_id;
  be.state = m.state == state::MemberState::draining ? PW_BACKEND_DRAINING : PW_BACKEND_RUNNING;
  writes.backends.emplace_back(id, be);
  writes.addrs6.emplace_back(id, m.ipv6 ? in6_of(*m.ipv6) : pw_in6{});
}

void MapProgrammer::write_members(const MemberWrites& writes) {
  maps_.set_backends(writes.backends);
  if (maps_.has_ipv6()) maps_.set_backend_addrs6(writes.addrs6);
}

void MapProgrammer::add_table_jobs(std::vector<TableJob>& jobs, std::uint32_t set_id,
                                   const std::vector<state::Member>* members) const {
  jobs.push_back({set_id, members, loader::SetFamily::ipv4});
  if (maps_.has_ipv6()) jobs.push_back({set_id, members, loader::SetFamily::ipv6});
}

// New flows go to running members only; draining ones keep their flows through conntrack.
std::vector<std::uint32_t> MapProgrammer::build_table(const TableJob& job) const {
  std::vector<lb::MaglevBackend> running;
  std::vector<std::uint32_t> running_ids;
  const bool v6 = job.family == loader::SetFamily::ipv6;
  for (const auto& m : *job.members) {
    if (m.state != state::MemberState::running || (v6 ? !m.ipv6 : !m.ipv4)) continue;
    // Maglev permutes by name: each family's table by the addresses of that family.
    running.push_back({v6 ? net::to_string(*m.ipv6) : net::to_string(*m.ipv4)});
    running_ids.push_back(view_.backend_ids.at({job.set_id, m.key()}));
  }
  if (running.empty()) return {};
  const std::uint32_t m = lb::maglev_table_size_for(running.size(), smallest_table_);
  if (m == 0)
    throw loader::Error("Maglev table", E2BIG,
                        std::to_string(running.size()) + " running backends in one set (max 256)");
  std::vector<std::uint32_t> table = lb::build_maglev_table(running, m);
  for (auto& slot : table) slot = running_ids[slot];
  return table;
}

void MapProgrammer::install_tables(const std::vector<TableJob>& jobs) {
  if (jobs.empty()) return;
  std::vector<std::vector<std::uint32_t>> tables(jobs.size());
  const std::size_t workers =
      jobs.size() < kParallelTables ? 1 : std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  if (workers == 1) {
    for (std::size_t i = 0; i < jobs.size(); ++i) tables[i] = build_table(jobs[i]);
  } else {
    // Only reads of the view happen here (backend ids were assigned above), so the workers
    // share it without locks; each writes its own slice of `tables`.
    std::vector<std::exception_ptr> errors(workers);
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        try {
          for (std::size_t i = w; i < jobs.size(); i += workers) tables[i] = build_table(jobs[i]);
        } catch (...) {
          errors[w] = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  std::vector<loader::BackendSetTable> batch;
  batch.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) batch.push_back({jobs[i].set_id, tables[i], jobs[i].family});
  maps_.install_backend_sets(batch);
}

// A member is its address pair, so a sandbox that gains or loses the address of one family
// (an IPv6 address added, or wiped from pw_backend_addrs6 and found on read-back) is one
// member removed and another added. Giving the added one the removed one's backend id keeps
// the flows of the family whose address did not change on their backend: a flow is "gone"
// only when its backend_addr copy no longer matches (lb_abi.h, pw_flow/pw_flow6). A member
// whose address changed to another value in some family is a new sandbox as far as flows
// go, and gets a new id. Returns the removed members whose ids were not carried.
std::vector<state::Member> MapProgrammer::carry_backend_ids(std::uint32_t set_id,
                                                            const std::vector<state::Member>& removed,
                                                            const std::vector<state::Member>& added) {
  if (removed.empty() || added.empty()) return removed;
  // One family equal and present on both sides; the other equal or present on one side only.
  auto same_sandbox = [](const state::Member& a, const state::Member& b) {
    const bool v4_kept = a.ipv4 && b.ipv4 && *a.ipv4 == *b.ipv4;
    const bool v6_kept = a.ipv6 && b.ipv6 && *a.ipv6 == *b.ipv6;
    const bool v4_ok = v4_kept || !a.ipv4 || !b.ipv4;
    const bool v6_ok = v6_kept || !a.ipv6 || !b.ipv6;
    return (v4_kept || v6_kept) && v4_ok && v6_ok;
  };
  std::map<net::Ipv4, std::size_t> added_by_v4;
  std::map<net::Ipv6, std::size_t> added_by_v6;
  for (std::size_t i = 0; i < added.size(); ++i) {
    if (added[i].ipv4) added_by_v4.emplace(*added[i].ipv4, i);
    if (added[i].ipv6) added_by_v6.emplace(*added[i].ipv6, i);
  }
  std::vector<bool> taken(added.size());
  std::vector<state::Member> gone;
  for (const auto& r : removed) {
    std::optional<std::size_t> match;
    auto try_index = [&](std::size_t i) {
      if (!match && !taken[i] && same_sandbox(r, added[i])) match = i;
    };
    if (r.ipv4)
      if (auto it = added_by_v4.find(*r.ipv4); it != added_by_v4.end()) try_index(it->second);
    if (r.ipv6)
      if (auto it = added_by_v6.find(*r.ipv6); it != added_by_v6.end()) try_index(it->second);
    auto held = view_.backend_ids.find({set_id, r.key()});
    if (!match || held == view_.backend_ids.end()) {
      gone.push_back(r);
      continue;
    }
    taken[*match] = true;
    const std::uint32_t id = held->second;
    view_.backend_ids.erase(held);
    view_.backend_ids[{set_id, added[*match].key()}] = id;
  }
  return gone;
}

void MapProgrammer::release_members(std::uint32_t set_id, const std::vector<state::Member>& members) {
  std::vector<std::uint32_t> ids;
  for (const auto& m : members) {
    auto it = view_.backend_ids.find({set_id, m.key()});
    if (it == view_.backend_ids.end()) continue;
    ids.push_back(it->second);
    view_.backend_pool.release(it->second);
    view_.backend_ids.erase(it);
  }
  maps_.clear_backends(ids);
  if (maps_.has_ipv6()) maps_.clear_backend_addrs6(ids);
}

void MapProgrammer::remove_set(const state::BackendSet& set) {
  auto it = view_.set_ids.find(set.id);
  if (it == view_.set_ids.end()) return;
  const std::uint32_t set_id = it->second;
  maps_.clear_backend_set(set_id);
  if (maps_.has_ipv6()) maps_.clear_backend_set(set_id, loader::SetFamily::ipv6);
  release_members(set_id, set.members);
  meta_.erase_set(set_id);
  view_.set_pool.release(set_id);
  view_.set_ids.erase(it);
}

pw_frontend MapProgrammer::entry(std::uint32_t id, std::uint32_t gen, const std::string& backend_set,
                                 std::uint16_t target_port) const {
  pw_frontend value{};
  value.id = id;
  value.gen = gen;
  value.set_id = view_.set_ids.at(backend_set);
  value.target_port = htons(target_port);
  return value;
}

std::optional<std::uint32_t> MapProgrammer::remove_frontend(const state::Frontend& f) {
  if (const auto* v6 = std::get_if<net::Ipv6>(&f.key.address)) {
    maps_.erase_frontend6(frontend6_key_of(f.key));
    touched_addrs6_.insert(*v6);
  } else {
    maps_.erase_frontend(frontend_key_of(f.key));
  }
  return release_id(view_.frontend_ids, view_.frontend_pool, meta_, f.key);
}

std::optional<std::uint32_t> MapProgrammer::remove_node_port(const state::NodePort& n) {
  maps_.erase_frontend(node_port_key_of(n.key));
  maps_.erase_frontend6(node_port6_key_of(n.key));
  return release_id(view_.node_port_ids, view_.frontend_pool, meta_, n.key);
}

// An address is a service address while any frontend uses it: then undeclared ports on it
// are rejected rather than passed to the stack. Checked once per address the diff touched.
void MapProgrammer::sync_service_addrs(const std::set<std::uint32_t>& addrs) {
  std::vector<std::uint32_t> used;
  for (const std::uint32_t addr : addrs) {
    const state::FrontendKey lowest{net::Ipv4{addr}, 0, config::Protocol::tcp};
    auto it = view_.frontend_ids.lower_bound(lowest);
    const bool in_use = it != view_.frontend_ids.end() &&
                        std::holds_alternative<net::Ipv4>(it->first.address) &&
                        std::get<net::Ipv4>(it->first.address).value == addr;
    if (in_use)
      used.push_back(htonl(addr));
    else
      maps_.erase_service_addr(htonl(addr));
  }
  maps_.upsert_service_addrs(used);
}

// ---- IPv6 -------------------------------------------------------------------------------

void MapProgrammer::put_frontend6(const state::Frontend& f, const pw_frontend& value) {
  entries6_.emplace_back(frontend6_key_of(f.key), value);
  touched_addrs6_.insert(std::get<net::Ipv6>(f.key.address));
}

void MapProgrammer::put_node_port6(const state::NodePort& n, const pw_frontend& value) {
  if (maps_.has_ipv6()) entries6_.emplace_back(node_port6_key_of(n.key), value);
}

void MapProgrammer::write_frontends6() {
  if (entries6_.empty()) return;
  maps_.upsert_frontends6(entries6_);  // throws ENOENT (nothing written) without IPv6 maps
}

// Node ports found with a missing or different IPv6 entry (read_installed) are written again,
// in both families, unless the diff writes or removes them anyway.
void MapProgrammer::rewrite_stale_node_ports(const state::StateDiff& d,
                                             std::vector<std::pair<pw_frontend_key, pw_frontend>>& entries) {
  if (view_.stale_node_ports.empty()) return;
  std::set<state::NodePortKey> in_diff;
  for (const auto& n : d.node_ports.added) in_diff.insert(n.key);
  for (const auto& n : d.node_ports.removed) in_diff.insert(n.key);
  for (const auto& [before, after] : d.node_ports.changed) in_diff.insert(after.key);
  // Rewritten in place: each keeps its id's current gen, so its flows stay in use.
  const std::vector<std::uint32_t> gens = maps_.has_frontend_gens() ? maps_.frontend_gens() : std::vector<std::uint32_t>{};
  for (const auto& key : view_.stale_node_ports) {
    const state::NodePort* n = view_.state.find(key);
    if (!n || in_diff.count(key)) continue;
    const std::uint32_t id = view_.node_port_ids.at(key);
    entries.emplace_back(node_port_key_of(key), entry(id, id < gens.size() ? gens[id] : 0, n->backend_set, n->target_port));
    put_node_port6(*n, entries.back().second);
  }
  view_.stale_node_ports.clear();
}

void MapProgrammer::remove_orphan_frontends6() {
  for (const auto& key : view_.orphan_frontends6) maps_.erase_frontend6(key);
  view_.orphan_frontends6.clear();
}

void MapProgrammer::sync_service_addrs6(const std::set<net::Ipv6>& addrs) {
  if (addrs.empty() || !maps_.has_ipv6()) return;
  std::vector<pw_in6> used;
  for (const auto& addr : addrs) {
    const state::FrontendKey lowest{addr, 0, config::Protocol::tcp};
    auto it = view_.frontend_ids.lower_bound(lowest);
    const bool in_use = it != view_.frontend_ids.end() && it->first.address == state::IpAddress{addr};
    if (in_use)
      used.push_back(in6_of(addr));
    else
      maps_.erase_service_addr6(in6_of(addr));
  }
  maps_.upsert_service_addrs6(used);
}

}  // namespace portway::dataplane::xdp
