// Bookkeeping of the flat Maglev slot array (pw_maglev_slots, see lb_abi.h): which regions
// hold a table a descriptor names, which are free to write, and which were retired too
// recently to be written: a program run that read the old descriptor may still be reading
// them. Retired regions become free only after an RCU grace period (every XDP/tc/cgroup
// program run is inside an RCU read-side section), which the caller waits for and reports
// with grace_period_passed(). Pure bookkeeping: no kernel calls, so it is unit-tested alone.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace portway::loader {

class SlotAllocator {
 public:
  explicit SlotAllocator(std::uint32_t slots = 0);

  // Marks a region in use (a table found installed when the maps were opened). False, and
  // nothing changed, when it is empty, reaches past the array or overlaps a claimed region.
  bool claim(std::uint32_t offset, std::uint32_t length);
  // Everything not claimed becomes retired: when the maps are opened, nobody knows how
  // recently a previous process switched away from those regions.
  void retire_all_free();

  // The lowest free region of `length` slots (first fit), or nullopt when no free region is
  // long enough (retired ones do not count until the next grace period).
  std::optional<std::uint32_t> allocate(std::uint32_t length);
  // Gives back a region that was allocated but never made visible to any program: free at
  // once.
  void release_unpublished(std::uint32_t offset, std::uint32_t length);
  // A region no descriptor names any more, but that a running program may still read.
  void retire(std::uint32_t offset, std::uint32_t length);
  // An RCU grace period has ended since every current retire(): retired regions are free.
  void grace_period_passed();

  [[nodiscard]] std::uint64_t free_slots() const noexcept { return free_slots_; }
  [[nodiscard]] std::uint64_t retired_slots() const noexcept { return retired_slots_; }
  [[nodiscard]] std::size_t free_regions() const noexcept { return free_.size(); }
  [[nodiscard]] std::uint32_t slots() const noexcept { return slots_; }

 private:
  void add_free(std::uint32_t offset, std::uint32_t length);

  std::uint32_t slots_;
  std::map<std::uint32_t, std::uint32_t> free_;  // offset -> length, coalesced
  std::vector<std::pair<std::uint32_t, std::uint32_t>> retired_;
  std::uint64_t free_slots_ = 0;
  std::uint64_t retired_slots_ = 0;
};

}  // namespace portway::loader
