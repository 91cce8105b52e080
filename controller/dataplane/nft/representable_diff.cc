#include "dataplane/nft/representable_diff.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace portway::dataplane::nft {
namespace {

bool is_v4(const state::FrontendKey& k) { return std::holds_alternative<net::Ipv4>(k.address); }

state::BackendSet without_ipv6(const state::BackendSet& s) {
  state::BackendSet out = s;
  for (auto& m : out.members) m.ipv6.reset();
  return out;
}

template <class T>
state::Changes<T> ipv4_frontends(const state::Changes<T>& c) {
  state::Changes<T> out;
  std::copy_if(c.added.begin(), c.added.end(), std::back_inserter(out.added), [](const T& f) { return is_v4(f.key); });
  std::copy_if(c.removed.begin(), c.removed.end(), std::back_inserter(out.removed),
               [](const T& f) { return is_v4(f.key); });
  std::copy_if(c.changed.begin(), c.changed.end(), std::back_inserter(out.changed),
               [](const auto& p) { return is_v4(p.first.key); });
  return out;
}

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

std::size_t users_of(const InstalledIndex& index, const std::string& id) {
  std::size_t n = 0;
  if (auto it = index.frontends_of.find(id); it != index.frontends_of.end()) n += it->second.size();
  if (auto it = index.node_ports_of.find(id); it != index.node_ports_of.end()) n += it->second.size();
  return n;
}

}  // namespace

state::StateDiff representable_diff(const state::StateDiff& d, const state::DataplaneState& installed,
                                    const InstalledIndex& index, const state::DataplaneState& after) {
  state::StateDiff r;
  r.frontends = ipv4_frontends(d.frontends);
  r.node_ports = d.node_ports;
  for (const auto& f : r.frontends.added) check_one_set_per_address(f, after);
  for (const auto& [b, a] : r.frontends.changed) check_one_set_per_address(a, after);

  // Every set whose presence or members may change, with how its number of users moves.
  std::map<std::string, long> user_delta;
  for (const auto& s : d.backend_sets.added) user_delta[s.id];
  for (const auto& s : d.backend_sets.removed) user_delta[s.id];
  for (const auto& c : d.backend_sets.changed) user_delta[c.id];
  const auto count = [&](const auto& changes) {
    for (const auto& x : changes.added) ++user_delta[x.backend_set];
    for (const auto& x : changes.removed) --user_delta[x.backend_set];
    for (const auto& [b, a] : changes.changed) {
      --user_delta[b.backend_set];
      ++user_delta[a.backend_set];
    }
  };
  count(r.frontends);
  count(r.node_ports);

  for (const auto& [id, delta] : user_delta) {
    const state::BackendSet* before = installed.find_backend_set(id);
    const state::BackendSet* now = after.find_backend_set(id);
    const bool used = now && static_cast<long>(users_of(index, id)) + delta > 0;
    if (!before && !used) continue;
    if (before && !used) {
      r.backend_sets.removed.push_back(*before);
      continue;
    }
    state::BackendSet want = without_ipv6(*now);
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
