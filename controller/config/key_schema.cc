#include "config/key_schema.h"

#include <algorithm>
#include <array>
#include <vector>

namespace portway::config {
namespace {

struct KeySet {
  std::span<const std::string_view> interpreted;
  std::span<const std::string_view> preserved;
};

// Keys of Miren's appconfig that portway carries but does not interpret.
constexpr std::array<std::string_view, 2> kAppInterpreted{"name", "services"};
constexpr std::array<std::string_view, 10> kAppPreserved{
    "post_import", "env",     "concurrency", "tasks",         "build",
    "include",     "addons",  "aliases",     "workload_role", "web"};
constexpr std::array<std::string_view, 5> kServiceInterpreted{"port", "port_name", "port_type",
                                                              "ports", "ip_families"};
constexpr std::array<std::string_view, 6> kServicePreserved{"command", "image",        "env",
                                                            "concurrency", "disks", "port_timeout"};
constexpr std::array<std::string_view, 4> kPortInterpreted{"port", "name", "type", "node_port"};

KeySet keys_of(KeyLevel level) {
  switch (level) {
    case KeyLevel::app: return {kAppInterpreted, kAppPreserved};
    case KeyLevel::service: return {kServiceInterpreted, kServicePreserved};
    case KeyLevel::port: return {kPortInterpreted, {}};
  }
  return {};
}

// Spellings from neighbouring tools (Kubernetes, Compose) that edit distance misses:
// `protocol` is the classic one, it means `type` here.
struct Alias {
  KeyLevel level;
  std::string_view wrong;
  std::string_view right;
};
constexpr std::array<Alias, 9> kAliases{{
    {KeyLevel::port, "protocol", "type"},
    {KeyLevel::port, "proto", "type"},
    {KeyLevel::port, "nodePort", "node_port"},
    {KeyLevel::port, "nodeport", "node_port"},
    {KeyLevel::port, "containerPort", "port"},
    {KeyLevel::port, "targetPort", "port"},
    {KeyLevel::port, "target_port", "port"},
    {KeyLevel::service, "protocol", "port_type"},
    {KeyLevel::service, "node_port", "ports"},  // shorthand cannot carry node_port
}};

bool contains(std::span<const std::string_view> set, std::string_view key) {
  return std::find(set.begin(), set.end(), key) != set.end();
}

}  // namespace

KeyKind classify_key(KeyLevel level, std::string_view key) {
  const KeySet set = keys_of(level);
  if (contains(set.interpreted, key)) return KeyKind::interpreted;
  if (contains(set.preserved, key)) return KeyKind::preserved;
  return KeyKind::unknown;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transposition, the commonest typo
  // ("nmae"); three rolling rows because a transposition looks two rows back.
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string_view> suggest_key(KeyLevel level, std::string_view key) {
  for (const Alias& alias : kAliases)
    if (alias.level == level && alias.wrong == key) return alias.right;
  // Hostile keys can be long; distance is quadratic, and nothing that long is a typo.
  if (key.size() > 64) return std::nullopt;

  const KeySet set = keys_of(level);
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  for (auto group : {set.interpreted, set.preserved}) {
    for (std::string_view candidate : group) {
      const std::size_t d = edit_distance(key, candidate);
      if (!best || d < best_distance) {
        best = candidate;
        best_distance = d;
      }
    }
  }
  // A third of the longer word, at least 1, at most 3: close enough to be a typo.
  const std::size_t limit =
      best ? std::clamp<std::size_t>(std::max(key.size(), best->size()) / 3, 1, 3) : 0;
  if (best && best_distance <= limit) return best;
  return std::nullopt;
}

}  // namespace portway::config
