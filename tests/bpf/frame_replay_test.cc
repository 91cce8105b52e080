// The frame replay (tests/support/frame_replay.h) that bench_xdp times one connection with:
// every repeat of one test run must be the same client packet of one established connection,
// translated by the load balancer as a single run translates it.
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "lb_fixture.h"
#include "loader/error.h"
#include "loader/prog_test_run.h"
#include "support/frame_replay.h"
#include "support/root.h"

namespace portway::test::lb {
namespace {

constexpr std::uint16_t kReplayPort = 41000;
constexpr std::uint32_t kRepeats = 50;

std::vector<std::uint8_t> client(bool syn) {
  return from_client(kSvcA, 80).src_port(kReplayPort).tcp_flags(syn ? tcp_flags::kSyn : tcp_flags::kAck).tcp();
}

TEST(FrameReplayTest, EveryRepeatIsTheSameClientPacketOfOneConnection) {
  PORTWAY_REQUIRE_ROOT();
  LbLab lab;
  ASSERT_EQ(lab.run_xdp(client(true)).retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  const auto ack = client(false);
  const auto once = lab.run_xdp(ack);
  ASSERT_EQ(once.retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  ASSERT_NE(once.output, ack);
  const pw_traffic before = lab.maps().frontend_traffic(kFeATcp);

  FrameReplay replay(ack);
  EXPECT_EQ(replay.bytes(), ack.size()) << "a 54-byte frame, restored whole (not a multiple of 8)";
  replay.aim(lab.xdp_fd());
  loader::TestRunOptions opts;
  opts.repeat = kRepeats;
  opts.xdp = loader::XdpContext{.ingress_ifindex = lab.uplink_ifindex()};
  const auto r = loader::test_run(replay.fd(), ack, opts);

  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(r.output, once.output) << "the last repeat translated the client's packet as one run does";
  const pw_traffic after = lab.maps().frontend_traffic(kFeATcp);
  // Without the replay, the second repeat would see the backend-addressed output: not a
  // frontend, passed, uncounted.
  EXPECT_EQ(after.packets - before.packets, kRepeats);
  EXPECT_EQ(after.new_flows, before.new_flows);
}

// Refused before anything is loaded (so without privileges too).
TEST(FrameReplayTest, RefusesAFrameShorterThanEightBytes) {
  const std::vector<std::uint8_t> tiny(7, 0);
  EXPECT_THROW(FrameReplay{tiny}, std::invalid_argument);
}

TEST(FrameReplayTest, AimingAtSomethingThatIsNoProgramIsAnError) {
  PORTWAY_REQUIRE_ROOT();
  FrameReplay replay(client(false));
  EXPECT_THROW(replay.aim(-1), loader::Error);
}

}  // namespace
}  // namespace portway::test::lb
