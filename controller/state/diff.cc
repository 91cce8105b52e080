#include "state/diff.h"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace portway::state {
namespace {

const FrontendKey& key_of(const Frontend& f) { return f.key; }
const NodePortKey& key_of(const NodePort& n) { return n.key; }
const std::string& key_of(const BackendSet& b) { return b.id; }
MemberKey key_of(const Member& m) { return m.key(); }

// Whether two entries with equal keys differ: the value part only, so a diff of equal
// states compares every key once and no string twice (memcmp dominates the profile).
bool same_value(const Frontend& a, const Frontend& b) {
  return a.target_port == b.target_port && a.backend_set == b.backend_set && a.port_name == b.port_name;
}
bool same_value(const NodePort& a, const NodePort& b) {
  return a.target_port == b.target_port && a.backend_set == b.backend_set && a.port_name == b.port_name;
}
bool same_value(const BackendSet& a, const BackendSet& b) { return a.members == b.members; }
bool same_value(const Member& a, const Member& b) { return a.state == b.state; }

// One merge pass over two key-sorted lists, one three-way key comparison per step.
template <class T, class OnBoth>
void merge(std::span<const T> a, std::span<const T> b, std::vector<T>& removed,
           std::vector<T>& added, OnBoth on_both) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const auto order = key_of(a[i]) <=> key_of(b[j]);
    if (order < 0) {
      removed.push_back(a[i++]);
    } else if (order > 0) {
      added.push_back(b[j++]);
    } else {
      if (!same_value(a[i], b[j])) on_both(a[i], b[j]);
      ++i;
      ++j;
    }
  }
  removed.insert(removed.end(), a.begin() + static_cast<std::ptrdiff_t>(i), a.end());
  added.insert(added.end(), b.begin() + static_cast<std::ptrdiff_t>(j), b.end());
}

template <class T>
Changes<T> changes(std::span<const T> a, std::span<const T> b) {
  Changes<T> out;
  merge(a, b, out.removed, out.added, [&](const T& x, const T& y) { out.changed.emplace_back(x, y); });
  return out;
}

// Applies `c` to the entries of a keyed list; `what` names the list in errors.
template <class T>
std::vector<T> apply_changes(std::span<const T> from, const Changes<T>& c, const char* what) {
  std::map<std::remove_cvref_t<decltype(key_of(std::declval<T>()))>, T> m;
  for (const T& e : from) m.emplace(key_of(e), e);
  const auto fail = [&](const char* why) {
    throw std::invalid_argument(std::string("diff does not fit: ") + what + " " + why);
  };
  for (const T& e : c.removed) {
    auto it = m.find(key_of(e));
    if (it == m.end() || !(it->second == e)) fail("removed but not present as described");
    m.erase(it);
  }
  for (const auto& [before, after] : c.changed) {
    auto it = m.find(key_of(before));
    if (it == m.end() || !(it->second == before) || !(key_of(after) == key_of(before))) {
      fail("changed but not present as described");
    }
    it->second = after;
  }
  for (const T& e : c.added) {
    if (!m.emplace(key_of(e), e).second) fail("added but already present");
  }
  std::vector<T> out;
  out.reserve(m.size());
  for (auto& [_, e] : m) out.push_back(std::move(e));
  return out;
}

std::string target(const std::string& set, const std::string& port_name, std::uint16_t target_port) {
  return set + " port " + port_name + " (target " + std::to_string(target_port) + ")";
}

}  // namespace

StateDiff diff(const DataplaneState& from, const DataplaneState& to) {
  StateDiff d;
  d.frontends = changes(from.frontends(), to.frontends());
  d.node_ports = changes(from.node_ports(), to.node_ports());
  merge(from.backend_sets(), to.backend_sets(), d.backend_sets.removed, d.backend_sets.added,
        [&](const BackendSet& a, const BackendSet& b) {
          d.backend_sets.changed.push_back(
              {b.id, changes<Member>(a.members, b.members), b.members});
        });
  return d;
}

DataplaneState patch(const DataplaneState& from, const StateDiff& d) {
  auto frontends = apply_changes(from.frontends(), d.frontends, "frontend");
  auto node_ports = apply_changes(from.node_ports(), d.node_ports, "node port");

  Changes<BackendSet> sets{d.backend_sets.added, d.backend_sets.removed, {}};
  for (const BackendSetChange& c : d.backend_sets.changed) {
    const BackendSet* before = from.find_backend_set(c.id);
    if (!before) throw std::invalid_argument("diff does not fit: backend set " + c.id + " changed but absent");
    BackendSet after{c.id, apply_changes<Member>(before->members, c.members, "member")};
    if (after.members != c.after) {
      throw std::invalid_argument("diff does not fit: backend set " + c.id + " members disagree");
    }
    sets.changed.emplace_back(*before, std::move(after));
  }
  auto backend_sets = apply_changes(from.backend_sets(), sets, "backend set");
  return DataplaneState::from_parts(std::move(frontends), std::move(node_ports), std::move(backend_sets));
}

void patch_in_place(DataplaneState& s, const StateDiff& d) {
  if (!d.frontends.empty() || !d.node_ports.empty() || !d.backend_sets.added.empty() ||
      !d.backend_sets.removed.empty()) {
    s = patch(s, d);
    return;
  }
  // Check every change first, then write: `s` stays as it was if one does not fit.
  std::vector<std::pair<BackendSet*, std::vector<Member>>> updates;
  for (const BackendSetChange& c : d.backend_sets.changed) {
    auto it = std::lower_bound(s.backend_sets_.begin(), s.backend_sets_.end(), c.id,
                               [](const BackendSet& b, const std::string& id) { return b.id < id; });
    if (it == s.backend_sets_.end() || it->id != c.id)
      throw std::invalid_argument("diff does not fit: backend set " + c.id + " changed but absent");
    std::vector<Member> after = apply_changes<Member>(it->members, c.members, "member");
    if (after != c.after)
      throw std::invalid_argument("diff does not fit: backend set " + c.id + " members disagree");
    updates.emplace_back(&*it, std::move(after));
  }
  for (auto& [set, members] : updates) set->members = std::move(members);
}

std::vector<std::string> describe(const StateDiff& d) {
  std::vector<std::string> out;
  for (const BackendSet& s : d.backend_sets.added) {
    out.push_back("+ backend set " + s.id + " (" + std::to_string(s.members.size()) + " members)");
  }
  for (const BackendSetChange& c : d.backend_sets.changed) {
    for (const Member& m : c.members.added) out.push_back("~ backend set " + c.id + ": + " + to_string(m));
    for (const auto& [a, b] : c.members.changed) {
      out.push_back("~ backend set " + c.id + ": " + to_string(a) + " -> " + to_string(b));
    }
    for (const Member& m : c.members.removed) out.push_back("~ backend set " + c.id + ": - " + to_string(m));
  }
  for (const Frontend& f : d.frontends.added) {
    out.push_back("+ frontend " + to_string(f.key) + " -> " + target(f.backend_set, f.port_name, f.target_port));
  }
  for (const auto& [a, b] : d.frontends.changed) {
    out.push_back("~ frontend " + to_string(b.key) + " -> " + target(b.backend_set, b.port_name, b.target_port));
  }
  for (const NodePort& n : d.node_ports.added) {
    out.push_back("+ " + to_string(n.key) + " -> " + target(n.backend_set, n.port_name, n.target_port));
  }
  for (const auto& [a, b] : d.node_ports.changed) {
    out.push_back("~ " + to_string(b.key) + " -> " + target(b.backend_set, b.port_name, b.target_port));
  }
  for (const Frontend& f : d.frontends.removed) out.push_back("- frontend " + to_string(f.key));
  for (const NodePort& n : d.node_ports.removed) out.push_back("- " + to_string(n.key));
  for (const BackendSet& s : d.backend_sets.removed) out.push_back("- backend set " + s.id);
  return out;
}

}  // namespace portway::state
