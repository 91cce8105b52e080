#include "dataplane/nft/representable_diff.h"

#include "dataplane/nft/representable.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace portway::dataplane::nft {
namespace {

bool is_v4(const state::FrontendKey& k) { return std::holds_alternative<net::Ipv4>(k.address); }

// representable()'s one-set-per-address rule, for the addresses a diff touches.
void check_one_set_per_address(const state::Frontend& f, const state::DataplaneState& after) {
  const auto fs = after.frontends();
  const state::FrontendKey first{f.key.address, 0, config::Protocol::tcp};
  auto it = std::lower_bound(fs.begin(), fs.end(), first,
                             [](const state::Frontend& x, const state::FrontendKey& k) { return x.key < k; });
  for (; it != fs.end() && it->key.address == f.key.address; ++it) {
    if (it->backend_set != f.backend_set)
      throw std::invalid_argument("service address " + state::to_string(f.key.address) +
                                  " is used by two backend sets (" + it->backend_set + ", " + f.backend_set +
                                  "); the nftables dataplane needs one per address");
  }
}

// How many frontends and node ports use a set: all of them, those that need its IPv4 side
// (IPv4 frontends, node ports) and those that need its IPv6 side (IPv6 frontends, node ports).
struct Users {
  long all = 0, ipv4 = 0, ipv6 = 0;
};

Users users_of(const InstalledIndex& index, const std::string& id) {
  Users n;
  if (auto it = index.frontends_of.find(id); it != index.frontends_of.end()) {
    n.all += static_cast<long>(it->second.size());
    const long v4 = std::count_if(it->second.begin(), it->second.end(), is_v4);
    n.ipv4 += v4;
    n.ipv6 += static_cast<long>(it->second.size()) - v4;
  }
  if (auto it = index.node_ports_of.find(id); it != index.node_ports_of.end()) {
    n.all += static_cast<long>(it->second.size());
    n.ipv4 += static_cast<long>(it->second.size());
    n.ipv6 += static_cast<long>(it->second.size());
  }
  return n;
}

bool ipv4_user(const state::Frontend& f) { return is_v4(f.key); }
bool ipv4_user(const state::NodePort&) { return true; }
bool ipv6_user(const state::Frontend& f) { return !is_v4(f.key); }
bool ipv6_user(const state::NodePort&) { return true; }

}  // namespace

state::StateDiff representable_diff(const state::StateDiff& d, const state::DataplaneState& installed,
                                    const InstalledIndex& index, const state::DataplaneState& after) {
  state::StateDiff r;
  r.frontends = d.frontends;
  r.node_ports = d.node_ports;
  for (const auto& f : r.frontends.added) check_one_set_per_address(f, after);
  for (const auto& [b, a] : r.frontends.changed) check_one_set_per_address(a, after);

  // Every set whose presence or members may change, with how its number of users moves.
  std::map<std::string, Users> user_delta;
  for (const auto& s : d.backend_sets.added) user_delta[s.id];
  for (const auto& s : d.backend_sets.removed) user_delta[s.id];
  for (const auto& c : d.backend_sets.changed) user_delta[c.id];
  const auto move = [&](const auto& x, long by) {
    Users& u = user_delta[x.backend_set];
    u.all += by;
    if (ipv4_user(x)) u.ipv4 += by;
    if (ipv6_user(x)) u.ipv6 += by;
  };
  const auto count = [&](const auto& changes) {
    for (const auto& x : changes.added) move(x, +1);
    for (const auto& x : changes.removed) move(x, -1);
    for (const auto& [b, a] : changes.changed) {
      move(b, -1);
      move(a, +1);
    }
  };
  count(r.frontends);
  count(r.node_ports);

  for (const auto& [id, delta] : user_delta) {
    const state::BackendSet* before = installed.find_backend_set(id);
    const state::BackendSet* now = after.find_backend_set(id);
    const Users before_users = users_of(index, id);
    const bool used = now && before_users.all + delta.all > 0;
    if (!before && !used) continue;
    if (before && !used) {
      r.backend_sets.removed.push_back(*before);
      continue;
    }
    state::BackendSet want = as_programmed(
        *now, {before_users.ipv4 + delta.ipv4 > 0, before_users.ipv6 + delta.ipv6 > 0});
    if (!before) {
      r.backend_sets.added.push_back(std::move(want));
      continue;
    }
    if (before->members == want.members) continue;
    // The member changes of one set: diff() of two one-set states, O(members).
    state::StateDiff one = state::diff(state::DataplaneState::from_parts({}, {}, {*before}),
                                       state::DataplaneState::from_parts({}, {}, {std::move(want)}));
    r.backend_sets.changed.push_back(std::move(one.backend_sets.changed.at(0)));
  }
  return r;
}

}  // namespace portway::dataplane::nft
