#include "dataplane/nft/representable.h"

#include <algorithm>
#include <stdexcept>

namespace portway::dataplane::nft {
namespace {

bool is_v4(const state::FrontendKey& k) { return std::holds_alternative<net::Ipv4>(k.address); }

bool unreachable(const state::Member& m, FamiliesUsed used) {
  return !((used.ipv4 && m.ipv4) || (used.ipv6 && m.ipv6));
}

}  // namespace

state::BackendSet as_programmed(const state::BackendSet& set, FamiliesUsed used) {
  state::BackendSet out = set;
  std::erase_if(out.members, [&](const state::Member& m) { return unreachable(m, used); });
  return out;
}

Representable representable(const state::DataplaneState& s) {
  // Frontends are sorted by key, so the frontends of one address are adjacent: one pass
  // checks the one-set-per-address rule.
  // `used` is indexed like backend_sets(); neighbouring frontends mostly share a set, so
  // the binary search runs about once per set, not once per frontend.
  const auto sets = s.backend_sets();
  std::vector<FamiliesUsed> used(sets.size());
  const state::BackendSet* last = nullptr;
  const auto mark = [&](const std::string& id, bool v4_user, bool v6_user) {
    if (!last || last->id != id) last = s.find_backend_set(id);
    auto& u = used[static_cast<std::size_t>(last - sets.data())];
    u.ipv4 = u.ipv4 || v4_user;
    u.ipv6 = u.ipv6 || v6_user;
  };
  const state::Frontend* previous = nullptr;
  for (const state::Frontend& f : s.frontends()) {
    if (previous && previous->key.address == f.key.address && previous->backend_set != f.backend_set) {
      throw std::invalid_argument("service address " + state::to_string(f.key.address) +
                                  " is used by two backend sets (" + previous->backend_set + ", " +
                                  f.backend_set + "); the nftables dataplane needs one per address");
    }
    previous = &f;
    mark(f.backend_set, is_v4(f.key), !is_v4(f.key));
  }
  for (const state::NodePort& n : s.node_ports()) mark(n.backend_set, true, true);

  const auto is_unused = [](FamiliesUsed u) { return !u.ipv4 && !u.ipv6; };
  std::size_t unused_sets = 0;
  bool trimmed = false;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (is_unused(used[i])) {
      ++unused_sets;
    } else {
      trimmed = trimmed || std::any_of(sets[i].members.begin(), sets[i].members.end(),
                                       [&](const state::Member& m) { return unreachable(m, used[i]); });
    }
  }
  Representable out;
  if (unused_sets == 0 && !trimmed) return out;

  std::vector<state::BackendSet> kept;
  for (std::size_t i = 0; i < sets.size(); ++i)
    if (!is_unused(used[i])) kept.push_back(as_programmed(sets[i], used[i]));
  out.reduced = state::DataplaneState::from_parts({s.frontends().begin(), s.frontends().end()},
                                                  {s.node_ports().begin(), s.node_ports().end()}, std::move(kept));
  if (unused_sets > 0)
    out.notes.push_back("not programmed: " + std::to_string(unused_sets) +
                        " backend set(s) that no frontend or node port uses");
  return out;
}

}  // namespace portway::dataplane::nft
