// The keys a run of diffs touched (frontends, node ports, backend sets): what a dataplane
// programmed after a check's reader was made, so that the check does not take its own
// changes for drift (docs/operations.md "Drift repair").
#pragma once

#include <set>
#include <string>

#include "state/diff.h"

namespace portway::state {

struct TouchedKeys {
  bool everything = false;  // a whole-state apply: nothing can be told apart
  std::set<FrontendKey> frontends;
  std::set<NodePortKey> node_ports;
  std::set<std::string> sets;

  void add(const StateDiff& d) {
    for (const auto& f : d.frontends.added) frontends.insert(f.key);
    for (const auto& f : d.frontends.removed) frontends.insert(f.key);
    for (const auto& [b, a] : d.frontends.changed) frontends.insert(b.key);
    for (const auto& n : d.node_ports.added) node_ports.insert(n.key);
    for (const auto& n : d.node_ports.removed) node_ports.insert(n.key);
    for (const auto& [b, a] : d.node_ports.changed) node_ports.insert(b.key);
    for (const auto& set : d.backend_sets.added) sets.insert(set.id);
    for (const auto& set : d.backend_sets.removed) sets.insert(set.id);
    for (const auto& c : d.backend_sets.changed) sets.insert(c.id);
  }
  bool none() const { return !everything && frontends.empty() && node_ports.empty() && sets.empty(); }
  // How many keys of `d` lie outside what was touched.
  std::size_t outside(const StateDiff& d) const {
    TouchedKeys of_d;
    of_d.add(d);
    std::size_t n = 0;
    for (const auto& k : of_d.frontends) n += !frontends.contains(k);
    for (const auto& k : of_d.node_ports) n += !node_ports.contains(k);
    for (const auto& k : of_d.sets) n += !sets.contains(k);
    return n;
  }
};

}  // namespace portway::state
