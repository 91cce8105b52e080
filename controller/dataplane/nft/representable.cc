#include "dataplane/nft/representable.h"

#include <algorithm>
#include <stdexcept>

namespace portway::dataplane::nft {
namespace {

bool is_v4(const state::FrontendKey& k) { return std::holds_alternative<net::Ipv4>(k.address); }

bool without_ipv6(const state::Member& m) { return !m.ipv6.has_value(); }

}  // namespace

state::BackendSet as_programmed(const state::BackendSet& set, bool ipv4_used) {
  state::BackendSet out = set;
  if (!ipv4_used) std::erase_if(out.members, without_ipv6);
  return out;
}

Representable representable(const state::DataplaneState& s) {
  // Frontends are sorted by key, so the frontends of one address are adjacent: one pass
  // checks the one-set-per-address rule.
  // `used` is indexed like backend_sets(); neighbouring frontends mostly share a set, so
  // the binary search runs about once per set, not once per frontend.
  const auto sets = s.backend_sets();
  enum Use : std::uint8_t { unused = 0, ipv6_only = 1, ipv4 = 2 };
  std::vector<std::uint8_t> used(sets.size(), unused);
  const state::BackendSet* last = nullptr;
  const auto mark = [&](const std::string& id, bool v4_user) {
    if (!last || last->id != id) last = s.find_backend_set(id);
    auto& u = used[static_cast<std::size_t>(last - sets.data())];
    u = std::max<std::uint8_t>(u, v4_user ? ipv4 : ipv6_only);
  };
  const state::Frontend* previous = nullptr;
  for (const state::Frontend& f : s.frontends()) {
    if (previous && previous->key.address == f.key.address && previous->backend_set != f.backend_set) {
      throw std::invalid_argument("service address " + state::to_string(f.key.address) +
                                  " is used by two backend sets (" + previous->backend_set + ", " +
                                  f.backend_set + "); the nftables dataplane needs one per address");
    }
    previous = &f;
    mark(f.backend_set, is_v4(f.key));
  }
  for (const state::NodePort& n : s.node_ports()) mark(n.backend_set, true);

  std::size_t unused_sets = 0;
  bool trimmed = false;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (used[i] == unused) ++unused_sets;
    if (used[i] == ipv6_only) trimmed = trimmed || std::any_of(sets[i].members.begin(), sets[i].members.end(), without_ipv6);
  }
  Representable out;
  if (unused_sets == 0 && !trimmed) return out;

  std::vector<state::BackendSet> kept;
  for (std::size_t i = 0; i < sets.size(); ++i)
    if (used[i] != unused) kept.push_back(as_programmed(sets[i], used[i] == ipv4));
  out.reduced = state::DataplaneState::from_parts({s.frontends().begin(), s.frontends().end()},
                                                  {s.node_ports().begin(), s.node_ports().end()}, std::move(kept));
  if (unused_sets > 0)
    out.notes.push_back("not programmed: " + std::to_string(unused_sets) +
                        " backend set(s) that no frontend or node port uses");
  return out;
}

}  // namespace portway::dataplane::nft
