// dataplane::xdp::IdPool: the lowest free id in [0, capacity), whatever the order of marks,
// releases and allocations (no kernel needed).
#include "dataplane/xdp/installed_view.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <random>
#include <set>

#include "loader/error.h"

namespace portway::dataplane::xdp {
namespace {

TEST(IdPoolTest, GivesTheLowestFreeIdAndCountsWhatIsUsed) {
  IdPool pool(200);
  for (std::uint32_t i = 0; i < 130; ++i) EXPECT_EQ(pool.allocate("id"), i);
  pool.release(70);
  pool.release(3);
  pool.release(3);  // twice: still one free id
  pool.release(199);  // never used: nothing changes
  EXPECT_EQ(pool.used(), 128u);
  EXPECT_EQ(pool.allocate("id"), 3u);
  EXPECT_EQ(pool.allocate("id"), 70u);
  EXPECT_EQ(pool.allocate("id"), 130u);
  pool.mark_used(131);
  pool.mark_used(131);
  pool.mark_used(64);  // already used
  EXPECT_EQ(pool.used(), 132u);
  EXPECT_EQ(pool.allocate("id"), 132u);
  EXPECT_TRUE(pool.in_use(131));
  EXPECT_FALSE(pool.in_use(133));
}

TEST(IdPoolTest, IdsReadBackInAnyOrderLeaveTheGapsFree) {
  IdPool pool(1000);
  for (const std::uint32_t id : {900u, 5u, 63u, 64u, 0u, 1u}) pool.mark_used(id);
  EXPECT_EQ(pool.allocate("id"), 2u);
  EXPECT_EQ(pool.allocate("id"), 3u);
  EXPECT_EQ(pool.allocate("id"), 4u);
  EXPECT_EQ(pool.allocate("id"), 6u);
  for (std::uint32_t want = 7; want < 63; ++want) EXPECT_EQ(pool.allocate("id"), want);
  EXPECT_EQ(pool.allocate("id"), 65u);
}

TEST(IdPoolTest, AFullPoolRefusesWithEnospc) {
  IdPool pool(65);
  for (std::uint32_t i = 0; i < 65; ++i) pool.allocate("backend id");
  try {
    pool.allocate("backend id");
    FAIL() << "a full pool gave an id";
  } catch (const loader::Error& e) {
    EXPECT_EQ(e.error_code(), ENOSPC);
  }
  pool.release(64);
  EXPECT_EQ(pool.allocate("backend id"), 64u);
  pool.mark_used(70);  // read back beyond the capacity: counted, never given
  EXPECT_EQ(pool.used(), 66u);
}

// Random marks, releases and allocations against a plain ordered set of used ids.
TEST(IdPoolTest, MatchesTheLowestFreeIdOfAnOrderedSet) {
  std::mt19937 rng(11);
  IdPool pool(2000);
  std::set<std::uint32_t> used;
  for (int step = 0; step < 20000; ++step) {
    const auto id = static_cast<std::uint32_t>(rng() % 2000);
    switch (rng() % 3) {
      case 0:
        pool.mark_used(id);
        used.insert(id);
        break;
      case 1:
        pool.release(id);
        used.erase(id);
        break;
      default: {
        if (used.size() == 2000) break;
        std::uint32_t lowest = 0;
        while (used.count(lowest)) ++lowest;
        ASSERT_EQ(pool.allocate("id"), lowest) << "step " << step;
        used.insert(lowest);
      }
    }
    ASSERT_EQ(pool.used(), used.size()) << "step " << step;
  }
}

// The daemon's member churn at 100,000 backends: a member removed low in the id range and one
// added (its id comes back), then another member added (a new id above every used one). The
// second allocation must not walk the used ids between the two.
TEST(IdPoolTest, ChurnBelowManyUsedIdsStaysCheap) {
  constexpr std::uint32_t kUsed = 100000;
  IdPool pool(131072);
  for (std::uint32_t i = 0; i < kUsed; ++i) pool.mark_used(i);
  const auto start = std::chrono::steady_clock::now();
  for (std::uint32_t i = 0; i < 2000; ++i) {
    const std::uint32_t low = (i * 37) % 1000;
    pool.release(low);
    ASSERT_EQ(pool.allocate("id"), low);
    ASSERT_EQ(pool.allocate("id"), kUsed);
    pool.release(kUsed);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  // 4,000 allocations: a scan of 64-bit words is about a microsecond each, a walk of the used
  // ids ~100,000 steps (seconds in all). The bound leaves room for a loaded machine.
  EXPECT_LT(took, std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace portway::dataplane::xdp
