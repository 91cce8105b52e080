#include "model/endpoints.h"

#include <algorithm>
#include <functional>

namespace portway::model {

bool carries_traffic(store::SandboxState s) { return s != store::SandboxState::stopped; }

std::size_t EndpointIndex::KeyHash::operator()(const Key& k) const {
  // In-process lookup only, so std::hash is fine; the mix keeps (a, b) and (b, a) apart.
  const std::size_t a = std::hash<std::string_view>{}(k.app);
  const std::size_t b = std::hash<std::string_view>{}(k.service);
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

EndpointIndex::EndpointIndex(std::span<const store::SandboxRecord> sandboxes) {
  for (const auto& s : sandboxes) {
    if (carries_traffic(s.state)) groups_[Key{s.app, s.service}].push_back(&s);
  }
  for (auto& [_, members] : groups_) {
    std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) { return a->id < b->id; });
  }
}

std::span<const store::SandboxRecord* const> EndpointIndex::of(const store::Selector& sel) const {
  const auto it = groups_.find(Key{sel.app, sel.service});
  if (it == groups_.end()) return {};
  return it->second;
}

}  // namespace portway::model
