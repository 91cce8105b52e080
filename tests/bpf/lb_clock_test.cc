// The fast path's clock (bpf/lib/clock.h, loader/lb_clock.h): the conversion from jiffies,
// the loader's calibration, and what the programs write into a flow with it and without it.
#include "loader/lb_clock.h"

#include <gtest/gtest.h>

#include <time.h>

#include <vector>

#include "lb_fixture.h"
#include "support/root.h"

namespace portway::test::lb {
namespace {

using loader::ClockSample;
using loader::JiffyClock;

constexpr std::uint64_t kTick250 = 4'000'000;  // TICK_NSEC at HZ 250
constexpr std::int64_t kOffset = 123'456'789;

// Samples as the kernel gives them at HZ 250: the coarse clock moves with jiffies, a few
// microseconds of timer lateness on each tick.
std::vector<ClockSample> samples_at_250(std::uint64_t first_jiffy, int ticks) {
  std::vector<ClockSample> out;
  for (int t = 0; t <= ticks; ++t) {
    const std::uint64_t j = first_jiffy + static_cast<std::uint64_t>(t);
    for (int k = 0; k < 4; ++k)
      out.push_back({j, j * kTick250 + static_cast<std::uint64_t>(kOffset) + static_cast<std::uint64_t>(t % 3) * 1'500});
  }
  return out;
}

TEST(JiffyClockTest, TheTickAndTheOffsetComeFromTheSamples) {
  const auto s = samples_at_250(4'294'892'296ull + 1'000, 3);
  const auto c = loader::jiffy_clock_from(s.data(), s.size());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->tick_ns, kTick250);
  EXPECT_NEAR(static_cast<double>(c->offset_ns), static_cast<double>(kOffset), 3'000.0);
}

// Torn samples at the first and the last tick, where the rate is read: the tick's other
// samples outvote them (a rate from the first and last sample alone would be 5/3 of a tick).
TEST(JiffyClockTest, ASampleTornByATickMovesNeitherTheTickNorTheOffset) {
  auto s = samples_at_250(10'000, 3);
  s.front().coarse_ns -= kTick250;  // the coarse clock not yet advanced with jiffies
  s.back().coarse_ns += kTick250;   // jiffies read before a tick, the coarse clock after it
  s[5].coarse_ns += kTick250;
  const auto c = loader::jiffy_clock_from(s.data(), s.size());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->tick_ns, kTick250);
  EXPECT_NEAR(static_cast<double>(c->offset_ns), static_cast<double>(kOffset), 3'000.0);
}

// A stalled VM delivers a tick late: that tick's coarse time is behind by the stall. A rate
// read between the first and the last point would be 5% off with the last tick 1.5 ms late
// over 8 ticks; the points that agree outvote it, wherever it is.
TEST(JiffyClockTest, OneLateTickNeitherRefusesNorMovesTheClock) {
  for (const std::size_t late : {std::size_t{0}, std::size_t{4}, std::size_t{8}}) {
    auto s = samples_at_250(7'000, 8);
    for (std::size_t k = 0; k < 4; ++k) s[late * 4 + k].coarse_ns += 1'500'000;
    const auto c = loader::jiffy_clock_from(s.data(), s.size());
    ASSERT_TRUE(c.has_value()) << "late tick " << late;
    EXPECT_EQ(c->tick_ns, kTick250) << "late tick " << late;
    EXPECT_NEAR(static_cast<double>(c->offset_ns), static_cast<double>(kOffset), 3'000.0) << "late tick " << late;
  }
  // Late ticks as many as punctual ones: no majority, no clock.
  auto s = samples_at_250(7'000, 3);
  for (std::size_t k = 8; k < s.size(); ++k) s[k].coarse_ns += 1'500'000;
  EXPECT_FALSE(loader::jiffy_clock_from(s.data(), s.size()).has_value());
}

TEST(JiffyClockTest, OtherHzValuesAreRecognisedAndUnknownRatesRefused) {
  for (const auto& [hz, tick] : {std::pair{100ull, 10'000'000ull}, {300ull, 3'333'333ull}, {1000ull, 1'000'000ull}}) {
    std::vector<ClockSample> s;
    for (std::uint64_t j = 50; j <= 53; ++j)
      for (int k = 0; k < 3; ++k) s.push_back({j, j * tick + 7});
    const auto c = loader::jiffy_clock_from(s.data(), s.size());
    ASSERT_TRUE(c.has_value()) << hz;
    EXPECT_EQ(c->tick_ns, tick) << hz;
  }
  std::vector<ClockSample> odd;  // 6 ms per jiffy: no CONFIG_HZ choice
  for (std::uint64_t j = 50; j <= 53; ++j)
    for (int k = 0; k < 3; ++k) odd.push_back({j, j * 6'000'000});
  EXPECT_FALSE(loader::jiffy_clock_from(odd.data(), odd.size()).has_value());
  const auto one_tick = samples_at_250(10, 1);  // two ticks: too short to tell a rate
  EXPECT_FALSE(loader::jiffy_clock_from(one_tick.data(), one_tick.size()).has_value());
  EXPECT_FALSE(loader::jiffy_clock_from(nullptr, 0).has_value());
}

std::uint64_t monotonic_coarse_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// A new flow through the programs of `lab`: its last_seen_ns.
std::uint64_t last_seen_of_a_new_flow(LbLab& lab, std::uint16_t sport) {
  const auto r = lab.run_xdp(from_client(kSvcA, 80).src_port(sport).tcp());
  EXPECT_NE(r.retval, static_cast<std::uint32_t>(XDP_DROP));
  const auto flow = lab.maps().flow(flow_key(kClient, kSvcA, sport, 80, 6));
  EXPECT_TRUE(flow.has_value());
  return flow ? flow->last_seen_ns : 0;
}

class LbClockTest : public ::testing::Test {
 protected:
  void SetUp() override { PORTWAY_REQUIRE_ROOT(); }
};

// The node's load measures the clock, and the flows it writes read as CLOCK_MONOTONIC: within
// a tick of the controller's coarse clock around the packet.
TEST_F(LbClockTest, MeasuredFlowsCarryTheMonotonicClock) {
  const auto measured = loader::measure_jiffy_clock();
  ASSERT_TRUE(measured.has_value()) << "the probe ran on this kernel: the jiffy clock must be measured";
  LbLab lab;
  ASSERT_EQ(lab.clock().tick_ns, measured->tick_ns) << "the lab loads as the node does";
  const std::uint64_t before = monotonic_coarse_ns();
  const std::uint64_t seen = last_seen_of_a_new_flow(lab, 41000);
  const std::uint64_t after = monotonic_coarse_ns();
  EXPECT_GE(seen + measured->tick_ns, before);
  EXPECT_LE(seen, after + measured->tick_ns);
}

// The programs take the conversion from their rodata: an offset an hour off shows in the flow
// (so the jiffies path is the one running), and without a clock the helper gives the right time.
TEST_F(LbClockTest, TheProgramsUseTheClockTheLoaderSet) {
  const auto measured = loader::measure_jiffy_clock();
  ASSERT_TRUE(measured.has_value());
  constexpr std::int64_t kHour = 3'600'000'000'000;
  {
    LbLab lab(JiffyClock{measured->tick_ns, measured->offset_ns + kHour});
    const std::uint64_t before = monotonic_coarse_ns();
    const std::uint64_t seen = last_seen_of_a_new_flow(lab, 41001);
    EXPECT_GE(seen + measured->tick_ns, before + kHour);
    EXPECT_LE(seen, monotonic_coarse_ns() + kHour + measured->tick_ns);
  }
  {
    LbLab lab(std::nullopt);
    EXPECT_EQ(lab.clock().tick_ns, 0u);
    const std::uint64_t before = monotonic_coarse_ns();
    const std::uint64_t seen = last_seen_of_a_new_flow(lab, 41002);
    EXPECT_GE(seen + measured->tick_ns, before);
    EXPECT_LE(seen, monotonic_coarse_ns() + measured->tick_ns);
  }
}

}  // namespace
}  // namespace portway::test::lb
