// loader::SlotAllocator: the bookkeeping behind the backend-set switch (no kernel needed).
#include "loader/slot_allocator.h"

#include <gtest/gtest.h>

namespace portway::loader {
namespace {

TEST(SlotAllocatorTest, FirstFitAndCoalescing) {
  SlotAllocator a(1000);
  EXPECT_EQ(a.allocate(100), 0u);
  EXPECT_EQ(a.allocate(200), 100u);
  EXPECT_EQ(a.allocate(300), 300u);
  EXPECT_EQ(a.free_slots(), 400u);
  a.release_unpublished(100, 200);
  EXPECT_EQ(a.allocate(150), 100u) << "first fit: the lowest hole that is long enough";
  EXPECT_EQ(a.allocate(100), 600u) << "the 50-slot rest of the hole is too short";
  a.release_unpublished(0, 100);
  a.release_unpublished(250, 50);
  a.release_unpublished(100, 150);
  EXPECT_EQ(a.free_regions(), 2u) << "0..300 merged, 700..1000 apart";
  EXPECT_EQ(a.allocate(300), 0u);
  EXPECT_FALSE(a.allocate(301).has_value());
  EXPECT_FALSE(a.allocate(0).has_value());
}

TEST(SlotAllocatorTest, RetiredRegionsWaitForTheGracePeriod) {
  SlotAllocator a(500);
  EXPECT_EQ(a.allocate(250), 0u);
  EXPECT_EQ(a.allocate(250), 250u);
  a.retire(0, 250);
  EXPECT_EQ(a.retired_slots(), 250u);
  EXPECT_FALSE(a.allocate(1).has_value()) << "retired slots may still be read";
  a.grace_period_passed();
  EXPECT_EQ(a.retired_slots(), 0u);
  EXPECT_EQ(a.allocate(250), 0u);
}

TEST(SlotAllocatorTest, ClaimsFromAnInstalledLayout) {
  SlotAllocator a(1000);
  EXPECT_TRUE(a.claim(100, 100));
  EXPECT_TRUE(a.claim(500, 500));
  EXPECT_FALSE(a.claim(150, 10)) << "overlaps a claimed region";
  EXPECT_FALSE(a.claim(950, 100)) << "reaches past the array";
  EXPECT_FALSE(a.claim(0, 0));
  EXPECT_EQ(a.free_slots(), 400u);
  a.retire_all_free();
  EXPECT_EQ(a.free_slots(), 0u);
  EXPECT_EQ(a.retired_slots(), 400u);
  a.grace_period_passed();
  EXPECT_EQ(a.allocate(300), 200u) << "0..100 and 200..500 are the holes";
  EXPECT_EQ(a.allocate(100), 0u);
}

}  // namespace
}  // namespace portway::loader
