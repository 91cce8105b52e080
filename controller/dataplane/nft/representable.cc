#include "dataplane/nft/representable.h"

#include <algorithm>
#include <stdexcept>

namespace portway::dataplane::nft {
namespace {

bool is_v4(const state::FrontendKey& k) { return std::holds_alternative<net::Ipv4>(k.address); }

}  // namespace

Representable representable(const state::DataplaneState& s) {
  // Frontends are sorted by key and IPv4 sorts first, so the frontends of one address are
  // adjacent: one pass checks the one-set-per-address rule.
  // `used` is indexed like backend_sets(); neighbouring frontends mostly share a set, so
  // the binary search runs about once per set, not once per frontend.
  const auto sets = s.backend_sets();
  std::vector<bool> used(sets.size(), false);
  const state::BackendSet* last = nullptr;
  const auto mark = [&](const std::string& id) {
    if (last && last->id == id) return;
    last = s.find_backend_set(id);
    used[static_cast<std::size_t>(last - sets.data())] = true;
  };
  std::size_t v6 = 0;
  const state::Frontend* previous = nullptr;
  for (const state::Frontend& f : s.frontends()) {
    if (!is_v4(f.key)) {
      ++v6;
      continue;
    }
    if (previous && previous->key.address == f.key.address && previous->backend_set != f.backend_set) {
      throw std::invalid_argument("service address " + state::to_string(f.key.address) +
                                  " is used by two backend sets (" + previous->backend_set + ", " +
                                  f.backend_set + "); the nftables dataplane needs one per address");
    }
    previous = &f;
    mark(f.backend_set);
  }
  for (const state::NodePort& n : s.node_ports()) mark(n.backend_set);

  bool member_v6 = false;
  std::size_t unused = 0;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (!used[i]) {
      ++unused;
      continue;
    }
    member_v6 = member_v6 || std::any_of(sets[i].members.begin(), sets[i].members.end(),
                                         [](const state::Member& m) { return m.ipv6.has_value(); });
  }
  Representable out;
  if (v6 == 0 && unused == 0 && !member_v6) return out;

  std::vector<state::Frontend> frontends;
  for (const auto& f : s.frontends())
    if (is_v4(f.key)) frontends.push_back(f);
  std::vector<state::BackendSet> kept;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (!used[i]) continue;
    state::BackendSet copy = sets[i];
    for (auto& m : copy.members) m.ipv6.reset();
    kept.push_back(std::move(copy));
  }
  out.reduced = state::DataplaneState::from_parts(
      std::move(frontends), {s.node_ports().begin(), s.node_ports().end()}, std::move(kept));
  if (v6 > 0)
    out.notes.push_back("not programmed: " + std::to_string(v6) +
                        " IPv6 frontend(s) (the nftables dataplane is IPv4-only for now)");
  if (unused > 0)
    out.notes.push_back("not programmed: " + std::to_string(unused) +
                        " backend set(s) that no frontend or node port uses");
  return out;
}

}  // namespace portway::dataplane::nft
