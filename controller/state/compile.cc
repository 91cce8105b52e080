#include "state/compile.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "model/endpoints.h"
#include "model/wanted.h"

namespace portway::state {

// The friend of DataplaneState that compile() uses: the lists are built sorted and checked
// here, so from_parts()'s checks (a binary search per reference) would only cost time.
class StateBuilder {
 public:
  static DataplaneState build(std::vector<Frontend> frontends, std::vector<NodePort> node_ports,
                              std::vector<BackendSet> backend_sets) {
    DataplaneState s;
    s.frontends_ = std::move(frontends);
    s.node_ports_ = std::move(node_ports);
    s.backend_sets_ = std::move(backend_sets);
    return s;
  }
};

namespace {

template <class T>
bool no_repeats(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) == v.end();
}

bool addresses_unique(const std::vector<Member>& members) {
  std::vector<net::Ipv4> v4;
  std::vector<net::Ipv6> v6;
  for (const Member& m : members) {
    if (m.ipv4) v4.push_back(*m.ipv4);
    if (m.ipv6) v6.push_back(*m.ipv6);
  }
  return no_repeats(v4) && no_repeats(v6);
}

// Resolves sandboxes of one Service that share an address (of either family): running wins,
// then the lowest sandbox id; a sandbox sharing any address with one already taken is left
// out, so no address is served twice in a set. `all` arrives ordered by sandbox id; a stable
// sort keeps that order within each state. (The store refuses a sandbox whose address is in
// use, so this only matters for a store edited by hand.) Returns the members sorted by key.
std::vector<Member> unique_members(std::vector<Member> all) {
  if (!addresses_unique(all)) {
    std::stable_sort(all.begin(), all.end(), [](const Member& a, const Member& b) {
      return a.state == MemberState::running && b.state != MemberState::running;
    });
    std::set<net::Ipv4> v4;
    std::set<net::Ipv6> v6;
    std::vector<Member> kept;
    for (const Member& m : all) {
      if ((m.ipv4 && v4.count(*m.ipv4)) || (m.ipv6 && v6.count(*m.ipv6))) continue;
      if (m.ipv4) v4.insert(*m.ipv4);
      if (m.ipv6) v6.insert(*m.ipv6);
      kept.push_back(m);
    }
    all = std::move(kept);
  }
  std::sort(all.begin(), all.end());
  return all;
}

// Sorts by key and drops later duplicates; callers push in Service-id order.
template <class T>
void sort_unique(std::vector<T>& v) {
  // Most lists (one Service's ports) arrive sorted and unique; stable_sort would still
  // allocate its buffer, once per Service.
  const auto strictly_before = [](const T& a, const T& b) { return a.key < b.key; };
  if (std::adjacent_find(v.begin(), v.end(), [&](const T& a, const T& b) { return !strictly_before(a, b); }) == v.end()) {
    return;
  }
  std::stable_sort(v.begin(), v.end(), [](const T& a, const T& b) { return a.key < b.key; });
  v.erase(std::unique(v.begin(), v.end(), [](const T& a, const T& b) { return a.key == b.key; }),
          v.end());
}

}  // namespace

Snapshot read_snapshot(store::Transaction& tx) {
  Snapshot s;
  s.generation = tx.generation();
  s.services = tx.services();
  s.sandboxes = tx.sandboxes();
  s.claims = tx.claims();
  return s;
}

Member member_of(const store::SandboxRecord& sb) {
  return {sb.ipv4, sb.ipv6,
          sb.state == store::SandboxState::running ? MemberState::running : MemberState::draining};
}

ServiceFragment compile_service(const store::ServiceRecord& s, std::vector<Member> endpoints,
                                const ClaimOwner& owner_of) {
  ServiceFragment f;
  f.backend_set = {s.id, unique_members(std::move(endpoints))};
  f.frontends.reserve(s.ports.size() * ((s.ipv4 ? 1 : 0) + (s.ipv6 ? 1 : 0)));
  for (const store::ServicePort& p : s.ports) {
    if (s.ipv4) f.frontends.push_back({{*s.ipv4, p.port, p.protocol}, p.target_port, s.id, p.name});
    if (s.ipv6) f.frontends.push_back({{*s.ipv6, p.port, p.protocol}, p.target_port, s.id, p.name});
    if (p.node_port == 0) continue;
    const NodePortKey key{p.node_port, p.protocol};
    if (const std::string* owner = owner_of(key); owner && *owner == s.id) {
      f.node_ports.push_back({key, p.target_port, s.id, p.name});
    }
  }
  sort_unique(f.frontends);
  sort_unique(f.node_ports);
  return f;
}

namespace {

// `take(f, member)` copies or moves one list out of fragment `f`.
template <class Fragments, class Take>
DataplaneState assemble_from(Fragments& fragments, Take take) {
  std::size_t frontend_count = 0, node_port_count = 0;
  for (auto& f : fragments) {
    frontend_count += (*f).frontends.size();
    node_port_count += (*f).node_ports.size();
  }
  std::vector<Frontend> frontends;
  std::vector<NodePort> node_ports;
  std::vector<BackendSet> sets;
  frontends.reserve(frontend_count);
  node_ports.reserve(node_port_count);
  sets.reserve(fragments.size());
  for (auto& f : fragments) {
    sets.push_back(take((*f).backend_set));
    auto fs = take((*f).frontends);
    frontends.insert(frontends.end(), std::make_move_iterator(fs.begin()), std::make_move_iterator(fs.end()));
    auto ns = take((*f).node_ports);
    node_ports.insert(node_ports.end(), std::make_move_iterator(ns.begin()), std::make_move_iterator(ns.end()));
  }
  // Pushed in Service id order, so a stable sort keeps the lowest id's entry of a key.
  sort_unique(frontends);
  sort_unique(node_ports);
  return StateBuilder::build(std::move(frontends), std::move(node_ports), std::move(sets));
}

}  // namespace

DataplaneState assemble(std::span<const ServiceFragment* const> fragments) {
  return assemble_from(fragments, [](const auto& part) { return part; });
}

DataplaneState compile(const Snapshot& snap) {
  const model::EndpointIndex endpoints(snap.sandboxes);

  std::vector<std::pair<NodePortKey, std::string>> owners;
  owners.reserve(snap.claims.size());
  for (const auto& c : snap.claims) {
    owners.push_back({{c.node_port, c.protocol}, model::service_id(c.app, c.service)});
  }
  std::sort(owners.begin(), owners.end());
  const ClaimOwner owner_of = [&](const NodePortKey& key) -> const std::string* {
    const auto it = std::lower_bound(owners.begin(), owners.end(), key,
                                     [](const auto& o, const NodePortKey& k) { return o.first < k; });
    return it != owners.end() && it->first == key ? &it->second : nullptr;
  };

  std::vector<const store::ServiceRecord*> services;
  services.reserve(snap.services.size());
  for (const auto& s : snap.services) services.push_back(&s);
  std::sort(services.begin(), services.end(), [](const auto* a, const auto* b) { return a->id < b->id; });
  services.erase(std::unique(services.begin(), services.end(),
                             [](const auto* a, const auto* b) { return a->id == b->id; }),
                 services.end());

  std::vector<ServiceFragment> fragments;
  fragments.reserve(services.size());
  for (const store::ServiceRecord* s : services) {
    const auto selected = endpoints.of(s->selector);
    std::vector<Member> members;
    members.reserve(selected.size());
    for (const store::SandboxRecord* sb : selected) members.push_back(member_of(*sb));
    fragments.push_back(compile_service(*s, std::move(members), owner_of));
  }
  // The fragments are this function's own: moved into the state, not copied.
  std::vector<ServiceFragment*> ordered;
  ordered.reserve(fragments.size());
  for (ServiceFragment& f : fragments) ordered.push_back(&f);
  return assemble_from(ordered, [](auto& part) { return std::move(part); });
}

}  // namespace portway::state
