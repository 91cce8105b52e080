// daemon::ChangeClock: which moment a store change's programming time is measured from.
#include "daemon/change_clock.h"

#include <gtest/gtest.h>

namespace portway::daemon {
namespace {

using namespace std::chrono_literals;
using Change = StoreWatch::Change;

const ChangeClock::Clock::time_point t0{};

double ms(const std::optional<std::chrono::duration<double>>& d) { return d ? d->count() * 1000.0 : -1; }

TEST(ChangeClockTest, AMarkersWakeTakesOverFromAWalWrite) {
  ChangeClock c;
  c.woke(Change::kWritten, t0);
  EXPECT_FALSE(c.committed());
  c.woke(Change::kCommitted, t0 + 5ms);  // the writer's fsync came in between
  c.woke(Change::kCommitted, t0 + 6ms);  // a second marker: the first one stands
  EXPECT_TRUE(c.committed());
  EXPECT_DOUBLE_EQ(ms(c.programmed(t0 + 7ms)), 2.0);
  EXPECT_FALSE(c.programmed(t0 + 8ms)) << "the next change has no clock until it wakes the loop";
}

TEST(ChangeClockTest, AWriterWithoutAMarkerIsTimedFromItsWalWrite) {
  ChangeClock c;
  c.woke(Change::kWritten, t0);
  c.woke(Change::kWritten, t0 + 1ms);
  c.woke(Change::kNone, t0 + 2ms);
  EXPECT_DOUBLE_EQ(ms(c.programmed(t0 + 3ms)), 3.0);
}

// A wake that found nothing (a checkpoint's write, a reader) is not the start of the next
// commit, which may come much later: that commit is timed from its own wake.
TEST(ChangeClockTest, AWakeThatFoundNothingDoesNotStartTheNextChangesClock) {
  ChangeClock c;
  c.woke(Change::kWritten, t0);
  c.found_nothing_new(t0 + 1ms);
  c.woke(Change::kWritten, t0 + 500ms);
  EXPECT_DOUBLE_EQ(ms(c.programmed(t0 + 501ms)), 1.0);
}

// A re-read finds the commit without a wake of its own: timed from the last read that found
// nothing, the last moment the commit was known not to be there.
TEST(ChangeClockTest, AReReadThatFindsTheCommitIsTimedFromTheReadBefore) {
  ChangeClock c;
  c.woke(Change::kWritten, t0);
  c.found_nothing_new(t0 + 1ms);
  c.found_nothing_new(t0 + 2ms);
  EXPECT_DOUBLE_EQ(ms(c.programmed(t0 + 6ms)), 4.0);
}

TEST(ChangeClockTest, AReadAfterAMarkerThatFindsNothingClearsIt) {
  ChangeClock c;
  c.woke(Change::kCommitted, t0);
  c.found_nothing_new(t0 + 1ms);  // already programmed
  EXPECT_FALSE(c.committed());
  c.woke(Change::kWritten, t0 + 50ms);
  c.woke(Change::kCommitted, t0 + 52ms);
  EXPECT_DOUBLE_EQ(ms(c.programmed(t0 + 53ms)), 1.0);
}

TEST(ChangeClockTest, ResetForgetsEverything) {
  ChangeClock c;
  c.woke(Change::kCommitted, t0);
  c.found_nothing_new(t0 + 1ms);
  c.reset();
  EXPECT_FALSE(c.committed());
  EXPECT_FALSE(c.programmed(t0 + 2ms));
}

}  // namespace
}  // namespace portway::daemon
