#include "dataplane/nft/set_numbers.h"

#include <cstdio>

namespace portway::dataplane::nft {

std::uint32_t preferred_set_number(std::string_view set_id) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (const char c : set_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  const auto n = static_cast<std::uint32_t>(h ^ (h >> 32));
  return n == 0 ? 1 : n;
}

std::uint32_t SetNumbers::assign(const std::string& set_id) {
  if (const auto it = by_id_.find(set_id); it != by_id_.end()) return it->second;
  std::uint32_t n = preferred_set_number(set_id);
  while (by_number_.contains(n)) n = n == 0xffffffffu ? 1 : n + 1;  // linear probing, skipping 0
  by_id_.emplace(set_id, n);
  by_number_.emplace(n, set_id);
  return n;
}

void SetNumbers::release(const std::string& set_id) {
  const auto it = by_id_.find(set_id);
  if (it == by_id_.end()) return;
  by_number_.erase(it->second);
  by_id_.erase(it);
}

std::optional<std::uint32_t> SetNumbers::number_of(const std::string& set_id) const {
  const auto it = by_id_.find(set_id);
  return it == by_id_.end() ? std::nullopt : std::optional(it->second);
}

const std::string* SetNumbers::id_of(std::uint32_t number) const {
  const auto it = by_number_.find(number);
  return it == by_number_.end() ? nullptr : &it->second;
}

void SetNumbers::clear() {
  by_id_.clear();
  by_number_.clear();
}

std::string placeholder_set_id(std::uint32_t number) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "nft-set-%08x", number);
  return buf;
}

}  // namespace portway::dataplane::nft
