#include "loader/slot_allocator.h"

#include <iterator>

namespace portway::loader {

SlotAllocator::SlotAllocator(std::uint32_t slots) : slots_(slots) {
  if (slots > 0) add_free(0, slots);
}

void SlotAllocator::add_free(std::uint32_t offset, std::uint32_t length) {
  auto next = free_.lower_bound(offset);
  std::uint64_t end = std::uint64_t{offset} + length;
  // Merge with the following region when they touch.
  if (next != free_.end() && next->first == end) {
    end += next->second;
    next = free_.erase(next);
  }
  // And with the preceding one.
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (std::uint64_t{prev->first} + prev->second == offset) {
      prev->second = static_cast<std::uint32_t>(end - prev->first);
      free_slots_ += length;
      return;
    }
  }
  free_.emplace_hint(next, offset, static_cast<std::uint32_t>(end - offset));
  free_slots_ += length;
}

bool SlotAllocator::claim(std::uint32_t offset, std::uint32_t length) {
  if (length == 0 || std::uint64_t{offset} + length > slots_) return false;
  auto it = free_.upper_bound(offset);
  if (it == free_.begin()) return false;
  --it;  // the free region starting at or before offset
  const std::uint32_t start = it->first;
  const std::uint64_t end = std::uint64_t{start} + it->second;
  if (std::uint64_t{offset} + length > end) return false;
  free_.erase(it);
  free_slots_ -= end - start;
  if (offset > start) add_free(start, offset - start);
  if (std::uint64_t{offset} + length < end)
    add_free(offset + length, static_cast<std::uint32_t>(end - offset - length));
  return true;
}

void SlotAllocator::retire_all_free() {
  for (const auto& [offset, length] : free_) retired_.emplace_back(offset, length);
  retired_slots_ += free_slots_;
  free_.clear();
  free_slots_ = 0;
}

std::optional<std::uint32_t> SlotAllocator::allocate(std::uint32_t length) {
  if (length == 0) return std::nullopt;
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < length) continue;
    const std::uint32_t offset = it->first;
    const std::uint32_t rest = it->second - length;
    free_.erase(it);
    if (rest > 0) free_.emplace(offset + length, rest);
    free_slots_ -= length;
    return offset;
  }
  return std::nullopt;
}

void SlotAllocator::release_unpublished(std::uint32_t offset, std::uint32_t length) {
  if (length > 0) add_free(offset, length);
}

void SlotAllocator::retire(std::uint32_t offset, std::uint32_t length) {
  if (length == 0) return;
  retired_.emplace_back(offset, length);
  retired_slots_ += length;
}

void SlotAllocator::grace_period_passed() {
  for (const auto& [offset, length] : retired_) add_free(offset, length);
  retired_.clear();
  retired_slots_ = 0;
}

}  // namespace portway::loader
