#include "dataplane/nft/planner.h"

#include <algorithm>
#include <set>

#include "dataplane/nft/elements.h"

namespace portway::dataplane::nft {
namespace {

// Which pick chain an svc_disp/np_disp element jumps to.
bool pick_of(SetName set, const std::string& data, PickKind& kind, std::uint32_t& n) {
  if (set != SetName::svc_disp && set != SetName::np_disp && set != SetName::svc_disp6 && set != SetName::np_disp6)
    return false;
  return data.starts_with("goto ") && parse_pick_chain(std::string_view(data).substr(5), kind, n);
}

void count_use(PickUses& uses, SetName set, const std::string& data, int delta) {
  PickKind kind;
  std::uint32_t n = 0;
  if (!pick_of(set, data, kind, n)) return;
  auto& m = uses[static_cast<std::size_t>(kind)];
  if (delta > 0) {
    ++m[n];
  } else if (auto it = m.find(n); it != m.end() && --it->second == 0) {
    m.erase(it);
  }
}

// Full render: compares each expected element with what the kernel holds, consuming the
// read-back maps so that what is left afterwards is what must go.
class CompareSink final : public ElementSink {
 public:
  CompareSink(ReadBack& rb, const std::array<bool, kSetCount>& fresh, Transaction& tx, PickUses& uses)
      : rb_(rb), fresh_(fresh), tx_(tx), uses_(uses) {}

  void put(SetName set, std::string key, std::string data, std::string comment) override {
    count_use(uses_, set, data, +1);
    const auto i = static_cast<std::size_t>(set);
    if (!fresh_[i]) {
      SetReadBack& rb_set = rb_.sets[std::string(name_of(set))];
      auto& have = rb_set.elements;
      if (const auto it = have.find(key); it != have.end()) {
        // An element without a comment (written by a version without comments) is kept: its
        // counters would restart if it were re-added only to gain one. It gets its comment
        // when it next changes.
        const auto c = rb_set.comments.find(key);
        const bool same = it->second == data && (c == rb_set.comments.end() || c->second == comment);
        have.erase(it);
        if (same) return;
        tx_.delete_element(set, key);
        ++changed;
      } else {
        ++missing;
      }
    }
    tx_.add_element(set, key, data, comment);
  }

  std::size_t missing = 0, changed = 0;

 private:
  ReadBack& rb_;
  const std::array<bool, kSetCount>& fresh_;
  Transaction& tx_;
  PickUses& uses_;
};

// Incremental: collects a handful of entities' elements for later comparison. An element
// whose comment changed (a port renamed, an address taken over by another Service) is
// rewritten like one whose data changed.
struct Element {
  std::string data, comment;
  bool operator==(const Element&) const = default;
};
class CollectSink final : public ElementSink {
 public:
  void put(SetName set, std::string key, std::string data, std::string comment) override {
    sets[static_cast<std::size_t>(set)].emplace(std::move(key), Element{std::move(data), std::move(comment)});
  }
  std::array<std::map<std::string, Element>, kSetCount> sets;
};

bool base_chain_matches(const ChainDef& want, const ChainReadBack& have) {
  return want.type == have.type && want.hook == have.hook &&
         (want.type.empty() || (want.priority == have.priority && have.policy == "accept"));
}

const state::Frontend* first_at(const state::DataplaneState& s, const state::IpAddress& a) {
  const auto fs = s.frontends();
  const state::FrontendKey probe{a, 0, config::Protocol::tcp};
  const auto it = std::lower_bound(fs.begin(), fs.end(), probe,
                                   [](const state::Frontend& f, const state::FrontendKey& k) { return f.key < k; });
  return it != fs.end() && it->key.address == a ? &*it : nullptr;
}

// What a set's slot tables depend on: its running members (their addresses).
std::vector<state::MemberKey> running_view(const state::BackendSet& set) {
  std::vector<state::MemberKey> out;
  for (const auto& m : set.members)
    if (m.state == state::MemberState::running) out.push_back(m.key());
  return out;
}

bool is_node_address_set(SetName s) { return s == SetName::node_addrs || s == SetName::node_addrs6; }

template <class Key>
void erase_key(std::vector<Key>& v, const Key& k) {
  v.erase(std::remove(v.begin(), v.end(), k), v.end());
}

}  // namespace

FullPlan plan_full(ReadBack rb, const state::DataplaneState& desired, const NodeAddresses& node_addresses,
                   const SetNumbers& numbers) {
  FullPlan plan;
  Transaction& tx = plan.tx;
  if (!rb.table) {
    tx.add_table();
    rb = ReadBack{};
  }
  const SlotBook installed_slots = read_slot_book(rb);

  // Every chain that exists is flushed first: that drops every rule's reference to a set or a
  // chain, so anything below may be deleted or re-created in the same transaction.
  for (const auto& [name, chain] : rb.chains) tx.flush_chain(name);

  std::array<bool, kSetCount> fresh{};
  for (const SetDef& d : set_defs()) {
    const auto it = rb.sets.find(std::string(d.name));
    const auto i = static_cast<std::size_t>(d.id);
    if (it == rb.sets.end()) {
      if (rb.table) plan.structure.push_back("set " + std::string(d.name) + " was missing");
      fresh[i] = true;
    } else if (it->second.signature != signature(d) || it->second.unreadable_elements) {
      plan.structure.push_back("set " + std::string(d.name) + " had the wrong type or content (" + it->second.signature + ")");
      tx.delete_set(d.name);
      rb.sets.erase(it);
      fresh[i] = true;
    }
    if (fresh[i]) tx.add_set(d.id);
  }
  for (const auto& [name, set] : rb.sets) {
    const bool known = std::any_of(set_defs().begin(), set_defs().end(),
                                   [&](const SetDef& d) { return d.name == name; });
    if (!known) {
      plan.structure.push_back("orphan set " + name);
      tx.delete_set(name);
    }
  }

  for (const auto name : kDropCounters)
    if (!rb.counters.contains(std::string(name))) tx.add_counter(name);
  for (const auto& [name, c] : rb.counters) {
    if (std::find(kDropCounters.begin(), kDropCounters.end(), name) == kDropCounters.end()) {
      plan.structure.push_back("orphan counter " + name);
      tx.delete_counter(name);
    }
  }

  // Elements: add what is missing or different, then delete what is left over.
  CompareSink sink(rb, fresh, tx, plan.uses);
  SlotTables slots(installed_slots, true);
  ElementWriter writer(desired, numbers, slots, sink);
  writer.all();
  for (const auto& [key, table] : slots.handed_out())
    if (!table.empty()) plan.slots.emplace(key, table);
  const std::size_t missing = sink.missing, changed = sink.changed;
  for (const auto a : node_addresses.v4) writer.node_address(a);
  for (const auto& a : node_addresses.v6) writer.node_address(a);
  plan.node_addresses_changed = sink.missing != missing || sink.changed != changed;
  std::size_t extra = 0;
  for (const SetDef& d : set_defs()) {
    const auto it = rb.sets.find(std::string(d.name));
    if (it == rb.sets.end() || fresh[static_cast<std::size_t>(d.id)]) continue;
    for (const auto& [key, data] : it->second.elements) {
      tx.delete_element(d.id, key);
      if (is_node_address_set(d.id)) plan.node_addresses_changed = true;
      else ++extra;
    }
  }
  plan.elements_missing = rb.table ? missing : 0;
  plan.elements_changed = changed;
  plan.elements_extra = extra;

  // Chains: the skeleton and the pick chains in use, (re)written; everything else deleted.
  std::vector<ChainDef> wanted = skeleton_chains();
  for (std::size_t k = 0; k < plan.uses.size(); ++k) {
    for (std::uint32_t n = 1; n <= kStandingPicks; ++n) wanted.push_back(pick_chain(static_cast<PickKind>(k), n));
    for (const auto& [n, count] : plan.uses[k])
      if (n > kStandingPicks) wanted.push_back(pick_chain(static_cast<PickKind>(k), n));
  }
  std::set<std::string> wanted_names;
  std::vector<std::string> lost_rules;
  for (const ChainDef& c : wanted) {
    wanted_names.insert(c.name);
    const auto it = rb.chains.find(c.name);
    if (it == rb.chains.end()) {
      if (rb.table) plan.structure.push_back("chain " + c.name + " was missing");
      tx.add_chain(c);
    } else if (!base_chain_matches(c, it->second)) {
      plan.structure.push_back("chain " + c.name + " had the wrong hook");
      tx.delete_chain_early(c.name);
      tx.add_chain(c);
    } else if (it->second.rules != c.rules.size()) {
      lost_rules.push_back(c.name);
    }
    tx.add_rules(c);
  }
  if (!lost_rules.empty()) {
    std::string names;
    for (std::size_t i = 0; i < lost_rules.size() && i < 3; ++i) names += (i ? ", " : "") + lost_rules[i];
    plan.structure.push_back(std::to_string(lost_rules.size()) + " chain(s) with other rules than portway's (" +
                             names + (lost_rules.size() > 3 ? ", ..." : "") + ")");
  }
  for (const auto& [name, chain] : rb.chains) {
    if (wanted_names.contains(name)) continue;
    PickKind kind;
    std::uint32_t n = 0;
    if (!parse_pick_chain(name, kind, n)) plan.structure.push_back("orphan chain " + name);
    tx.delete_chain(name);
  }
  return plan;
}

std::vector<std::string> structure_problems(const ReadBack& rb, const PickUses& uses) {
  if (!rb.table) return {"table inet portway is missing"};
  std::vector<std::string> out;
  for (const SetDef& d : set_defs()) {
    const auto it = rb.sets.find(std::string(d.name));
    if (it == rb.sets.end() || it->second.signature != signature(d)) out.push_back("set " + std::string(d.name));
  }
  for (const auto name : kDropCounters)
    if (!rb.counters.contains(std::string(name))) out.push_back("counter " + std::string(name));
  std::vector<ChainDef> wanted = skeleton_chains();
  for (std::size_t k = 0; k < uses.size(); ++k) {
    for (std::uint32_t n = 1; n <= kStandingPicks; ++n) wanted.push_back(pick_chain(static_cast<PickKind>(k), n));
    for (const auto& [n, c] : uses[k])
      if (n > kStandingPicks) wanted.push_back(pick_chain(static_cast<PickKind>(k), n));
  }
  for (const ChainDef& c : wanted) {
    const auto it = rb.chains.find(c.name);
    if (it == rb.chains.end() || !base_chain_matches(c, it->second) || it->second.rules != c.rules.size())
      out.push_back("chain " + c.name);
  }
  return out;
}

InstalledIndex InstalledIndex::build(const state::DataplaneState& s, const PickUses& uses) {
  InstalledIndex idx;
  idx.uses = uses;
  for (const auto& f : s.frontends()) idx.frontends_of[f.backend_set].push_back(f.key);
  for (const auto& n : s.node_ports()) idx.node_ports_of[n.backend_set].push_back(n.key);
  for (const auto& set : s.backend_sets())
    for (const auto& m : set.members) ++idx.member_refs[m.key()];
  return idx;
}

void InstalledIndex::apply(const state::StateDiff& d) {
  for (const auto& f : d.frontends.removed) erase_key(frontends_of[f.backend_set], f.key);
  for (const auto& [before, after] : d.frontends.changed) {
    erase_key(frontends_of[before.backend_set], before.key);
    frontends_of[after.backend_set].push_back(after.key);
  }
  for (const auto& f : d.frontends.added) frontends_of[f.backend_set].push_back(f.key);
  for (const auto& n : d.node_ports.removed) erase_key(node_ports_of[n.backend_set], n.key);
  for (const auto& [before, after] : d.node_ports.changed) {
    erase_key(node_ports_of[before.backend_set], before.key);
    node_ports_of[after.backend_set].push_back(after.key);
  }
  for (const auto& n : d.node_ports.added) node_ports_of[n.backend_set].push_back(n.key);

  const auto unref = [&](const state::MemberKey& k) {
    if (auto it = member_refs.find(k); it != member_refs.end() && --it->second == 0) member_refs.erase(it);
  };
  for (const auto& set : d.backend_sets.removed) {
    for (const auto& m : set.members) unref(m.key());
    frontends_of.erase(set.id);
    node_ports_of.erase(set.id);
  }
  for (const auto& set : d.backend_sets.added)
    for (const auto& m : set.members) ++member_refs[m.key()];
  for (const auto& c : d.backend_sets.changed) {
    for (const auto& m : c.members.removed) unref(m.key());
    for (const auto& m : c.members.added) ++member_refs[m.key()];
  }
}

IncrementalPlan plan_incremental(const state::DataplaneState& installed, const InstalledIndex& index,
                                 const SlotBook& slots, const state::DataplaneState& desired,
                                 const state::StateDiff& d, const SetNumbers& numbers) {
  CollectSink before, after;
  SlotTables old_slots(slots, false), new_slots(slots, true);
  ElementWriter old_w(installed, numbers, old_slots, before), new_w(desired, numbers, new_slots, after);

  // Sets whose running members changed: all their frontends and node ports point at another
  // pick chain and slot list.
  std::set<std::string> moved;
  for (const auto& c : d.backend_sets.changed) {
    const state::BackendSet* o = installed.find_backend_set(c.id);
    const state::BackendSet* n = desired.find_backend_set(c.id);
    if (o && n && running_view(*o) != running_view(*n)) moved.insert(c.id);
  }

  std::set<state::FrontendKey> frontends;
  for (const auto& f : d.frontends.added) frontends.insert(f.key);
  for (const auto& f : d.frontends.removed) frontends.insert(f.key);
  for (const auto& [b, a] : d.frontends.changed) frontends.insert(b.key);
  std::set<state::NodePortKey> node_ports;
  for (const auto& n : d.node_ports.added) node_ports.insert(n.key);
  for (const auto& n : d.node_ports.removed) node_ports.insert(n.key);
  for (const auto& [b, a] : d.node_ports.changed) node_ports.insert(b.key);
  for (const auto& id : moved) {
    if (auto it = index.frontends_of.find(id); it != index.frontends_of.end())
      frontends.insert(it->second.begin(), it->second.end());
    if (auto it = index.node_ports_of.find(id); it != index.node_ports_of.end())
      node_ports.insert(it->second.begin(), it->second.end());
  }

  std::set<state::IpAddress> addresses;
  for (const auto& k : frontends) {
    addresses.insert(k.address);
    if (const auto* f = installed.find(k)) old_w.frontend(*f);
    if (const auto* f = desired.find(k)) new_w.frontend(*f);
  }
  for (const auto& a : addresses) {
    if (const auto* f = first_at(installed, a)) old_w.service_address(a, *installed.find_backend_set(f->backend_set));
    if (const auto* f = first_at(desired, a)) new_w.service_address(a, *desired.find_backend_set(f->backend_set));
  }
  for (const auto& k : node_ports) {
    if (const auto* n = installed.find(k)) old_w.node_port(*n);
    if (const auto* n = desired.find(k)) new_w.node_port(*n);
  }

  // Draining members per set, and the per-member backend elements, shared between sets.
  std::map<state::MemberKey, int> ref_delta;
  for (const auto& set : d.backend_sets.removed) {
    old_w.draining_members(set);
    for (const auto& m : set.members) --ref_delta[m.key()];
  }
  for (const auto& set : d.backend_sets.added) {
    new_w.draining_members(set);
    for (const auto& m : set.members) ++ref_delta[m.key()];
  }
  for (const auto& c : d.backend_sets.changed) {
    old_w.draining_members(*installed.find_backend_set(c.id));
    new_w.draining_members(*desired.find_backend_set(c.id));
    for (const auto& m : c.members.removed) --ref_delta[m.key()];
    for (const auto& m : c.members.added) ++ref_delta[m.key()];
  }
  for (const auto& [member, delta] : ref_delta) {
    const auto it = index.member_refs.find(member);
    const long refs = it == index.member_refs.end() ? 0 : static_cast<long>(it->second);
    if (refs > 0) old_w.backend_address(member);
    if (refs + delta > 0) new_w.backend_address(member);
  }

  IncrementalPlan plan;
  for (const auto& [key, table] : old_slots.handed_out()) plan.slots_removed.push_back(key);
  for (const auto& [key, table] : new_slots.handed_out())
    if (!table.empty()) plan.slots_written.emplace(key, table);
  plan.uses = index.uses;
  PickUses touched_before = plan.uses;
  for (std::size_t s = 0; s < kSetCount; ++s) {
    const auto set = static_cast<SetName>(s);
    const auto& o = before.sets[s];
    const auto& n = after.sets[s];
    for (const auto& [key, e] : o) {
      const auto it = n.find(key);
      if (it != n.end() && it->second == e) continue;
      plan.tx.delete_element(set, key);
      count_use(plan.uses, set, e.data, -1);
    }
    for (const auto& [key, e] : n) {
      const auto it = o.find(key);
      if (it != o.end() && it->second == e) continue;
      plan.tx.add_element(set, key, e.data, e.comment);
      count_use(plan.uses, set, e.data, +1);
    }
  }
  // Pick chains beyond the standing ones appear with their first user and go with their last.
  for (std::size_t k = 0; k < plan.uses.size(); ++k) {
    for (const auto& [n, c] : plan.uses[k]) {
      if (n <= kStandingPicks || touched_before[k].contains(n)) continue;
      const ChainDef chain = pick_chain(static_cast<PickKind>(k), n);
      plan.tx.add_chain(chain);
      plan.tx.add_rules(chain);
    }
    for (const auto& [n, c] : touched_before[k])
      if (n > kStandingPicks && !plan.uses[k].contains(n))
        plan.tx.delete_chain(pick_chain_name(static_cast<PickKind>(k), n));
  }
  return plan;
}

void IncrementalPlan::update(SlotBook& installed) const {
  for (const auto& key : slots_removed) installed.erase(key);
  for (const auto& [key, table] : slots_written) installed[key] = table;
}

namespace {

template <class A, class Text>
void plan_family(const std::vector<A>& installed, const std::vector<A>& desired, SetName set, Text text,
                 Transaction& tx) {
  for (const auto& a : installed)
    if (!std::binary_search(desired.begin(), desired.end(), a)) tx.delete_element(set, text(a));
  for (const auto& a : desired)
    if (!std::binary_search(installed.begin(), installed.end(), a)) tx.add_element(set, text(a), "");
}

}  // namespace

void plan_node_addresses(const NodeAddresses& installed, const NodeAddresses& desired, Transaction& tx) {
  plan_family(installed.v4, desired.v4, SetName::node_addrs, ipv4_text, tx);
  plan_family(installed.v6, desired.v6, SetName::node_addrs6, ipv6_text, tx);
}

}  // namespace portway::dataplane::nft
