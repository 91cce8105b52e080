// One loop of the XDP-loop engine (pktgen/xdp_loop.h), driven directly in a namespace of the
// test's own: what ends its strands (the limit, stop(), the program's own deadline), that
// frames of another length end nothing, and that the pair goes with the object, also when
// the constructor throws. The engine's counts and flows go through the send tests.
#include <gtest/gtest.h>
#include <net/if.h>

#include <chrono>
#include <optional>
#include <thread>

#include "netlink/links.h"
#include "pktgen/cpus.h"
#include "pktgen/frame_spec.h"
#include "pktgen/netns_enter.h"
#include "pktgen/packet_socket.h"
#include "pktgen/sink.h"
#include "pktgen/xdp_loop.h"
#include "support/root.h"
#include "veth_pair.h"

namespace portway::test {
namespace {

using Clock = std::chrono::steady_clock;
using pktgen::NetnsEnter;

// Links of the calling thread's namespace whose name starts like a loop's pair.
std::size_t loop_links() {
  std::size_t n = 0;
  for (const auto& l : netlink::list_links())
    if (l.name.rfind("pwgl", 0) == 0) ++n;
  return n;
}

// Waits (at most 2 s) for every strand of the loop to end.
bool finishes(const pktgen::XdpLoop& loop) {
  for (int i = 0; i < 200 && !loop.finished(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return loop.finished();
}

class XdpLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    pair_.emplace("xl");
    {
      const NetnsEnter in(pair_->sink_netns());
      sink_.emplace(if_nametoindex(VethPair::kSinkLink), pktgen::SinkOptions{.latency = false});
    }
    spec_.src_mac = pair_->gen_mac();
    spec_.dst_mac = pair_->sink_mac();
    spec_.frame_size = 64;
    pktgen::pin_current_thread(pktgen::allowed_cpus().front());
  }
  void TearDown() override {
    if (sink_) {
      const NetnsEnter in(pair_->sink_netns());
      sink_.reset();
    }
  }

  pktgen::LoopRun run(std::uint64_t limit, std::chrono::milliseconds within, double rate = 0) const {
    pktgen::LoopRun r;
    r.limit = limit;
    r.deadline = Clock::now() + within;
    r.rate_pps = rate;
    return r;
  }

  std::optional<VethPair> pair_;
  std::optional<pktgen::Sink> sink_;
  pktgen::FrameSpec spec_;
};

TEST_F(XdpLoopTest, TheLimitEndsEveryStrandAfterExactlyThatManyFrames) {
  const NetnsEnter in(pair_->gen_netns());
  pktgen::XdpLoop loop(pktgen::to_config(spec_), if_nametoindex(VethPair::kGenLink));
  loop.start(run(5000, std::chrono::seconds(10)), pktgen::initial_frame(spec_));
  ASSERT_TRUE(finishes(loop));
  const auto s = loop.state();
  EXPECT_EQ(s.emitted, 5000u);
  EXPECT_EQ(s.ended, pktgen::XdpLoop::kSeeds);
  // Every turn either sent a frame or ended a strand (no rate: no idle turns).
  EXPECT_EQ(s.turns, s.emitted + s.ended);
  EXPECT_EQ(s.idle_turns, 0u);
}

TEST_F(XdpLoopTest, StopEndsAnUnboundedRunAtOnceAndTheProgramsDeadlineEndsOneNobodyStops) {
  const NetnsEnter in(pair_->gen_netns());
  pktgen::XdpLoop loop(pktgen::to_config(spec_), if_nametoindex(VethPair::kGenLink));
  // No count and a deadline far away: only stop() can end this run in time.
  loop.start(run(~0ull, std::chrono::seconds(30), 10000), pktgen::initial_frame(spec_));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(loop.finished());
  loop.stop();
  ASSERT_TRUE(finishes(loop));
  const std::uint64_t after_stop = loop.emitted();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(loop.emitted(), after_stop);
  EXPECT_GT(after_stop, 0u);

  // No stop() now: the program reads the deadline itself.
  const auto start = Clock::now();
  loop.start(run(~0ull, std::chrono::milliseconds(200), 10000), pktgen::initial_frame(spec_));
  ASSERT_TRUE(finishes(loop));
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(190));
  // 10,000 per second for 0.2 s: about 2,000, never a burst past the rate.
  EXPECT_LE(loop.state().emitted, 2100u);
  EXPECT_GT(loop.state().idle_turns, 0u);
}

TEST_F(XdpLoopTest, FramesOfAnotherLengthOnThePairAreCountedAndEndNothing) {
  const NetnsEnter in(pair_->gen_netns());
  pktgen::XdpLoop loop(pktgen::to_config(spec_), if_nametoindex(VethPair::kGenLink));
  loop.start(run(~0ull, std::chrono::seconds(30), 1000), pktgen::initial_frame(spec_));
  loop.stop();
  ASSERT_TRUE(finishes(loop));
  // Three frames of another size into the loop's end after every strand ended: were they taken
  // as strands, each would end one more (ended 19) or turn again.
  pktgen::PacketSocket socket(if_nametoindex(loop.seeding_link().c_str()), 3);
  std::vector<std::uint8_t> odd(3 * 80, 0);
  ASSERT_EQ(socket.send(odd.data(), 80, 3), 3u);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto s = loop.state();
  EXPECT_EQ(s.flow.bad_length, 3u);
  EXPECT_EQ(s.ended, pktgen::XdpLoop::kSeeds);
}

TEST_F(XdpLoopTest, ThePairGoesWithTheLoopAndWithAConstructorThatThrew) {
  const NetnsEnter in(pair_->gen_netns());
  const std::size_t before = loop_links();
  {
    pktgen::XdpLoop loop(pktgen::to_config(spec_), if_nametoindex(VethPair::kGenLink));
    EXPECT_EQ(loop_links(), before + 2);
    EXPECT_NE(netlink::ifindex_of(loop.seeding_link()), 0u);
  }
  EXPECT_EQ(loop_links(), before);
  // An ifindex that names no device: the devmap refuses it after the pair was made.
  EXPECT_THROW(pktgen::XdpLoop(pktgen::to_config(spec_), 999999), std::system_error);
  EXPECT_EQ(loop_links(), before);
}

}  // namespace
}  // namespace portway::test
