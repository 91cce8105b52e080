#include "state/incremental_compile.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "model/endpoints.h"
#include "model/wanted.h"
#include "state/compile.h"

namespace portway::state {
namespace {

using SelectorKey = std::pair<std::string, std::string>;  // (app, service)

SelectorKey selector_key(const store::Selector& s) { return {s.app, s.service}; }
SelectorKey selector_key(const store::SandboxRecord& s) { return {s.app, s.service}; }

// What the journal named, read again in the same transaction: nullopt = deleted.
struct ReadBack {
  std::vector<std::pair<std::string, std::optional<store::SandboxRecord>>> sandboxes;
  std::vector<std::pair<std::string, std::optional<store::ServiceRecord>>> services;
  std::vector<store::ClaimKey> changed_claims;
  std::vector<store::NodePortClaim> claims;  // all of them, when changed_claims is not empty
};

ReadBack read_back(store::Transaction& tx, const store::ChangeSet& changes) {
  ReadBack r;
  r.sandboxes.reserve(changes.sandboxes.size());
  for (const std::string& id : changes.sandboxes) r.sandboxes.emplace_back(id, tx.find_sandbox(id));
  r.services.reserve(changes.services.size());
  for (const std::string& id : changes.services) r.services.emplace_back(id, tx.find_service(id));
  r.changed_claims = changes.claims;
  // Claims are few (one per node port) and the store has no per-key read: read them all.
  if (!changes.claims.empty()) r.claims = tx.claims();
  return r;
}

NodePortKey node_port_key(const store::ClaimKey& k) { return {k.node_port, k.protocol}; }

// Hashes for the index's lookups: at 10,000 Services an ordered map costs a cache miss per
// level, and the index is cold after each commit; a hash lookup costs one or two.
std::size_t mix(std::size_t seed, std::size_t v) { return seed ^ (v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)); }

struct KeyHash {
  std::size_t operator()(const SelectorKey& k) const {
    return mix(std::hash<std::string>{}(k.first), std::hash<std::string>{}(k.second));
  }
  std::size_t operator()(const NodePortKey& k) const {
    return mix(k.node_port, static_cast<std::size_t>(k.protocol));
  }
  std::size_t operator()(const FrontendKey& k) const {
    std::size_t h = mix(k.port, static_cast<std::size_t>(k.protocol));
    if (const auto* v4 = std::get_if<net::Ipv4>(&k.address)) return mix(h, v4->value);
    for (std::uint8_t b : std::get<net::Ipv6>(k.address).bytes) h = mix(h, b);
    return mix(h, 6);
  }
};

template <class T, class Key>
const T* find_by_key(const std::vector<T>& sorted, const Key& key) {
  const auto it = std::lower_bound(sorted.begin(), sorted.end(), key,
                                   [](const T& e, const Key& k) { return e.key < k; });
  return it != sorted.end() && it->key == key ? &*it : nullptr;
}

void insert_sorted(std::vector<std::string>& ids, const std::string& id) {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) ids.insert(it, id);
}

void erase_sorted(std::vector<std::string>& ids, const std::string& id) {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it != ids.end() && *it == id) ids.erase(it);
}

}  // namespace

// Everything compile() derives from the whole store, kept per Service so one change can be
// recompiled alone: the records a fragment depends on, each Service's fragment, and for every
// frontend and node-port key the Services that give it (the lowest id wins, as in assemble()).
struct IncrementalCompiler::Index {
  std::unordered_map<std::string, SelectorKey> sandbox_selector;  // every sandbox, by id
  // Per (app, service): its sandboxes by id, with the member each is (nullopt: stopped).
  std::unordered_map<SelectorKey, std::map<std::string, std::optional<Member>>, KeyHash> sandboxes_by_selector;
  std::unordered_map<std::string, store::ServiceRecord> services;
  std::unordered_map<SelectorKey, std::set<std::string>, KeyHash> services_by_selector;
  std::map<NodePortKey, std::string> claim_owners;
  std::unordered_map<std::string, ServiceFragment> fragments;  // one per Service
  std::unordered_map<FrontendKey, std::vector<std::string>, KeyHash> frontend_givers;   // Service ids, ascending
  std::unordered_map<NodePortKey, std::vector<std::string>, KeyHash> node_port_givers;  // Service ids, ascending

  void load(const Snapshot& snap) {
    for (const store::SandboxRecord& sb : snap.sandboxes) add_sandbox(sb);
    for (const store::ServiceRecord& s : snap.services) add_service(s);
    for (const store::NodePortClaim& c : snap.claims) {
      keep_lowest(claim_owners, {c.node_port, c.protocol}, model::service_id(c.app, c.service));
    }
    for (const auto& [id, s] : services) add_fragment(compile_one(s));
  }

  DataplaneState assembled() const {
    std::vector<const ServiceFragment*> ordered;
    ordered.reserve(fragments.size());
    for (const auto& [_, f] : fragments) ordered.push_back(&f);
    std::sort(ordered.begin(), ordered.end(),
              [](const auto* a, const auto* b) { return a->backend_set.id < b->backend_set.id; });
    return assemble(ordered);
  }

  // Brings the index to the records in `r` and returns how the compiled state changes, and
  // how many Services were recompiled.
  std::pair<StateDiff, std::size_t> apply(const ReadBack& r) {
    std::set<std::string> touched;
    for (const auto& [id, _] : r.services) touched.insert(id);
    // A sandbox touches the Services that select its old record and its new one. The
    // selector index still holds the old Service records: a Service whose selector changed
    // is in the journal itself, so every other one selects the same sandboxes before and after.
    for (const auto& [id, now] : r.sandboxes) {
      if (const auto it = sandbox_selector.find(id); it != sandbox_selector.end()) touch(touched, it->second);
      if (now) touch(touched, selector_key(*now));
    }
    if (!r.changed_claims.empty()) {
      std::map<NodePortKey, std::string> owners;
      for (const store::NodePortClaim& c : r.claims) {
        keep_lowest(owners, {c.node_port, c.protocol}, model::service_id(c.app, c.service));
      }
      for (const store::ClaimKey& k : r.changed_claims) {
        const NodePortKey key = node_port_key(k);
        if (const auto it = claim_owners.find(key); it != claim_owners.end()) {
          touched.insert(it->second);
          claim_owners.erase(it);
        }
        if (const auto it = owners.find(key); it != owners.end()) {
          touched.insert(it->second);
          claim_owners.emplace(key, it->second);
        }
      }
    }
    for (const auto& [id, now] : r.sandboxes) {
      remove_sandbox(id);
      if (now) add_sandbox(*now);
    }
    for (const auto& [id, now] : r.services) {
      remove_service(id);
      if (now) add_service(*now);
    }
    return {recompile(touched), touched.size()};
  }

 private:
  static void keep_lowest(std::map<NodePortKey, std::string>& owners, const NodePortKey& key,
                          std::string id) {
    const auto [it, inserted] = owners.emplace(key, id);
    if (!inserted && id < it->second) it->second = std::move(id);
  }

  void touch(std::set<std::string>& touched, const SelectorKey& key) const {
    if (const auto it = services_by_selector.find(key); it != services_by_selector.end()) {
      touched.insert(it->second.begin(), it->second.end());
    }
  }

  void add_sandbox(const store::SandboxRecord& sb) {
    sandbox_selector.emplace(sb.id, selector_key(sb));
    std::optional<Member> member;
    if (model::carries_traffic(sb.state)) member = member_of(sb);
    sandboxes_by_selector[selector_key(sb)].insert_or_assign(sb.id, member);
  }

  void remove_sandbox(const std::string& id) {
    const auto it = sandbox_selector.find(id);
    if (it == sandbox_selector.end()) return;
    const auto group = sandboxes_by_selector.find(it->second);
    group->second.erase(id);
    if (group->second.empty()) sandboxes_by_selector.erase(group);
    sandbox_selector.erase(it);
  }

  void add_service(const store::ServiceRecord& s) {
    services_by_selector[selector_key(s.selector)].insert(s.id);
    services.insert_or_assign(s.id, s);
  }

  void remove_service(const std::string& id) {
    const auto it = services.find(id);
    if (it == services.end()) return;
    const auto group = services_by_selector.find(selector_key(it->second.selector));
    group->second.erase(id);
    if (group->second.empty()) services_by_selector.erase(group);
    services.erase(it);
  }

  ServiceFragment compile_one(const store::ServiceRecord& s) const {
    std::vector<Member> endpoints;
    if (const auto it = sandboxes_by_selector.find(selector_key(s.selector)); it != sandboxes_by_selector.end()) {
      endpoints.reserve(it->second.size());
      for (const auto& [_, member] : it->second) {  // by sandbox id, as compile_service wants
        if (member) endpoints.push_back(*member);
      }
    }
    const ClaimOwner owner_of = [this](const NodePortKey& key) -> const std::string* {
      const auto it = claim_owners.find(key);
      return it == claim_owners.end() ? nullptr : &it->second;
    };
    return compile_service(s, std::move(endpoints), owner_of);
  }

  void add_fragment(ServiceFragment f) {
    const std::string& id = f.backend_set.id;
    for (const Frontend& e : f.frontends) insert_sorted(frontend_givers[e.key], id);
    for (const NodePort& e : f.node_ports) insert_sorted(node_port_givers[e.key], id);
    fragments.insert_or_assign(id, std::move(f));
  }

  void remove_fragment(const std::string& id) {
    const auto it = fragments.find(id);
    if (it == fragments.end()) return;
    drop_giver(frontend_givers, it->second.frontends, id);
    drop_giver(node_port_givers, it->second.node_ports, id);
    fragments.erase(it);
  }

  template <class Entry, class Givers>
  static void drop_giver(Givers& givers,
                         const std::vector<Entry>& entries, const std::string& id) {
    for (const Entry& e : entries) {
      const auto it = givers.find(e.key);
      erase_sorted(it->second, id);
      if (it->second.empty()) givers.erase(it);
    }
  }

  // The entry that wins `key` now, and the Service that gives it.
  template <class Entry, class Givers, class Key>
  const Entry* winner(const Givers& givers, const Key& key,
                      std::vector<Entry> ServiceFragment::*list) const {
    const auto it = givers.find(key);
    if (it == givers.end()) return nullptr;
    return find_by_key(fragments.at(it->second.front()).*list, key);
  }

  // The part of the state that `touched` can change, before and after, as two small states
  // whose diff is the diff of the whole: the touched Services' backend sets, and every
  // frontend and node-port key they give before or after, with its winner (which may be an
  // untouched Service, whose backend set then appears unchanged on both sides).
  StateDiff recompile(const std::set<std::string>& touched) {
    std::map<std::string, std::optional<ServiceFragment>> next;
    std::set<FrontendKey> frontend_keys;
    std::set<NodePortKey> node_port_keys;
    const auto note_keys = [&](const ServiceFragment& f) {
      for (const Frontend& e : f.frontends) frontend_keys.insert(e.key);
      for (const NodePort& e : f.node_ports) node_port_keys.insert(e.key);
    };
    for (const std::string& id : touched) {
      if (const auto it = fragments.find(id); it != fragments.end()) note_keys(it->second);
      std::optional<ServiceFragment> f;
      if (const auto it = services.find(id); it != services.end()) f = compile_one(it->second);
      if (f) note_keys(*f);
      next.emplace(id, std::move(f));
    }

    struct Side {
      std::vector<Frontend> frontends;
      std::vector<NodePort> node_ports;
      std::map<std::string, BackendSet> sets;
    };
    std::set<std::string> untouched_referenced;
    const auto winners = [&](Side& side) {
      for (const FrontendKey& k : frontend_keys) {
        if (const Frontend* e = winner(frontend_givers, k, &ServiceFragment::frontends)) side.frontends.push_back(*e);
      }
      for (const NodePortKey& k : node_port_keys) {
        if (const NodePort* e = winner(node_port_givers, k, &ServiceFragment::node_ports)) side.node_ports.push_back(*e);
      }
      for (const Frontend& e : side.frontends) {
        if (!touched.count(e.backend_set)) untouched_referenced.insert(e.backend_set);
      }
      for (const NodePort& e : side.node_ports) {
        if (!touched.count(e.backend_set)) untouched_referenced.insert(e.backend_set);
      }
      for (const std::string& id : touched) {
        if (const auto it = fragments.find(id); it != fragments.end()) side.sets.emplace(id, it->second.backend_set);
      }
    };

    Side before, after;
    winners(before);
    for (auto& [id, f] : next) {
      remove_fragment(id);
      if (f) add_fragment(std::move(*f));
    }
    winners(after);
    const auto state_of = [&](Side& side) {
      for (const std::string& id : untouched_referenced) side.sets.emplace(id, fragments.at(id).backend_set);
      std::vector<BackendSet> sets;
      sets.reserve(side.sets.size());
      for (auto& [_, set] : side.sets) sets.push_back(std::move(set));
      return DataplaneState::from_parts(std::move(side.frontends), std::move(side.node_ports), std::move(sets));
    };
    return diff(state_of(before), state_of(after));
  }
};

IncrementalCompiler::IncrementalCompiler() = default;
IncrementalCompiler::~IncrementalCompiler() = default;
IncrementalCompiler::IncrementalCompiler(IncrementalCompiler&&) noexcept = default;
IncrementalCompiler& IncrementalCompiler::operator=(IncrementalCompiler&&) noexcept = default;

const DataplaneState& IncrementalCompiler::reset(store::Store& store) {
  auto tx = store.begin_read();
  compile_all(*tx);
  return state_;
}

StateDiff IncrementalCompiler::compile_all(store::Transaction& tx) {
  const Snapshot snapshot = read_snapshot(tx);
  auto index = std::make_unique<Index>();
  index->load(snapshot);
  DataplaneState next = index->assembled();
  StateDiff d = diff(state_, next);
  state_ = std::move(next);
  index_ = std::move(index);
  generation_ = snapshot.generation;
  last_path_ = Path::full;
  last_services_recompiled_ = index_->services.size();
  return d;
}

StateDiff IncrementalCompiler::catch_up(store::Store& store) {
  auto tx = store.begin_read();
  const std::uint64_t now = tx->generation();
  if (index_ && now == generation_) {
    last_path_ = Path::journal;
    last_services_recompiled_ = 0;
    return {};
  }
  std::optional<store::ChangeSet> changes;
  if (index_) changes = tx->changes_since(generation_);
  if (!changes) return compile_all(*tx);
  const ReadBack records = read_back(*tx, *changes);
  tx.reset();
  try {
    auto [d, recompiled] = index_->apply(records);
    patch_in_place(state_, d);
    generation_ = now;
    last_path_ = Path::journal;
    last_services_recompiled_ = recompiled;
    return std::move(d);
  } catch (...) {
    // The index may be half updated while state_ is not: the next catch_up compiles all.
    index_.reset();
    throw;
  }
}

}  // namespace portway::state
