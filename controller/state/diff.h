// The difference between two desired dataplane states: what a dataplane must change to go
// from the installed state to the new one, and nothing else. A change of one endpoint touches
// exactly one backend set and no frontend, so programming it is independent of total size.
//
// Every list is ordered by key (frontend key, node-port key, backend-set id, member IPv4), so
// equal inputs give equal diffs. Entries are copies: a diff outlives the states it came from.
//
// Applying a diff without ever exposing a dangling reference: (1) add backend sets, then
// change them; (2) add and change frontends and node ports; (3) remove frontends and node
// ports; (4) remove backend sets. patch() below follows that order.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "state/dataplane_state.h"

namespace portway::state {

template <class T>
struct Changes {
  std::vector<T> added;
  std::vector<T> removed;
  std::vector<std::pair<T, T>> changed;  // (before, after), same key, different value

  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
  std::size_t size() const { return added.size() + removed.size() + changed.size(); }
  bool operator==(const Changes&) const = default;
};

// A backend set present in both states with different members.
struct BackendSetChange {
  std::string id;
  Changes<Member> members;     // keyed by MemberKey (the address pair); `changed`: state differs
  std::vector<Member> after;   // the complete new member list (to rebuild a Maglev table)

  bool operator==(const BackendSetChange&) const = default;
};

struct BackendSetChanges {
  std::vector<BackendSet> added;
  // A removed member's flows must be ended (docs/dataplane.md "Semantics").
  std::vector<BackendSet> removed;
  std::vector<BackendSetChange> changed;

  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
  std::size_t size() const { return added.size() + removed.size() + changed.size(); }
  bool operator==(const BackendSetChanges&) const = default;
};

struct StateDiff {
  Changes<Frontend> frontends;
  Changes<NodePort> node_ports;
  BackendSetChanges backend_sets;

  bool empty() const { return frontends.empty() && node_ports.empty() && backend_sets.empty(); }
  bool operator==(const StateDiff&) const = default;
};

// Linear in the size of the two states (one merge pass per list).
StateDiff diff(const DataplaneState& from, const DataplaneState& to);

// `from` with `d` applied; patch(a, diff(a, b)) == b. Throws std::invalid_argument when `d`
// does not fit `from` (adds what exists, removes or changes what does not).
DataplaneState patch(const DataplaneState& from, const StateDiff& d);
// The same, in place: a diff that only changes members of existing backend sets (one
// endpoint change) costs O(log n + members) instead of a copy of the whole state; any other
// diff falls back to patch(). Same checks, same exceptions; `s` is unchanged on a throw.
void patch_in_place(DataplaneState& s, const StateDiff& d);

// One line per change, in apply order, e.g.
//   "+ backend set svc/irc/irc (2 members)", "~ backend set svc/irc/irc: + 198.18.1.2 running",
//   "+ frontend 198.18.0.7:6667/tcp -> svc/irc/irc port irc (target 6667)", "- node_port 6697/tcp"
std::vector<std::string> describe(const StateDiff& d);

}  // namespace portway::state
