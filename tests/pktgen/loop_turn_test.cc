// One turn of the XDP-loop engine's program (pktgen_loop_turn in bpf/pktgen.bpf.c) at a time
// with BPF_PROG_TEST_RUN, which returns the verdict without acting on it: each turn writes the
// frame the live-frames program writes for the same flow and broadcasts (XDP_REDIRECT); the
// limit, stop and the deadline end a strand (XDP_DROP, counted in `ended`); a turn not due
// yet sends nothing; a frame of another length is counted and ends nothing. The loop's state
// is the instance's .bss, read and set here as the engine does.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "loader/prog_test_run.h"
#include "on_one_cpu.h"
#include "pktgen/frame_spec.h"
#include "pktgen/generator.h"
#include "pktgen/xdp_loop.h"

namespace portway::test {
namespace {

pktgen::FrameSpec spec() {
  pktgen::FrameSpec s;
  s.src_mac = {0x02, 0, 0, 0, 0x0b, 0x01};
  s.dst_mac = {0x02, 0, 0, 0, 0x0b, 0x02};
  s.src = net::Ipv4{0xC6120005u};  // 198.18.0.5
  s.src_count = 3;
  s.src_port_count = 4;
  s.dst = net::Ipv4{0xC6130007u};  // 198.19.0.7
  s.frame_size = 64;
  s.stamp = false;  // the bytes of two programs compared: no clock in them
  return s;
}

class LoopTurn : public OnOneCpu<::testing::Test> {
 protected:
  void SetUp() override {
    OnOneCpu::SetUp();
    if (IsSkipped()) return;
    skel_.emplace(pktgen::PktgenSkeleton::open_and_load([](struct ::pktgen& s) {
      const_cast<portway_pktgen_config&>(s.rodata->pktgen_config) = pktgen::to_config(spec());
    }));
    loop().limit = ~0ull;
    loop().deadline_ns = ~0ull;
  }
  portway_pktgen_loop& loop() { return (*skel_)->bss->pktgen_loop; }
  loader::TestRunResult turn(const std::vector<std::uint8_t>& frame) {
    return loader::test_run(bpf_program__fd((*skel_)->progs.pktgen_loop_turn), frame);
  }
  std::optional<pktgen::PktgenSkeleton> skel_;
};

constexpr auto kRedirect = static_cast<std::uint32_t>(XDP_REDIRECT);
constexpr auto kDrop = static_cast<std::uint32_t>(XDP_DROP);

TEST_F(LoopTurn, EachTurnWritesTheLiveFramesProgramsFrameAndBroadcastsIt) {
  pktgen::Generator live(spec());
  std::vector<std::uint8_t> frame = pktgen::initial_frame(spec());
  for (int i = 0; i < 14; ++i) {  // past the 12 flows: the cycle wraps the same way
    const auto r = turn(frame);
    ASSERT_EQ(r.retval, kRedirect) << "turn " << i;
    EXPECT_EQ(r.output, loader::test_run(live.prog_fd(), live.frame()).output) << "turn " << i;
    frame = r.output;  // the loop's frame comes back as it left
  }
  EXPECT_EQ(loop().emitted, 14u);
  EXPECT_EQ(loop().turns, 14u);
  EXPECT_EQ(loop().ended, 0u);
}

TEST_F(LoopTurn, TheLimitStopAndTheDeadlineEachEndAStrand) {
  const auto frame = pktgen::initial_frame(spec());
  loop().limit = 2;
  EXPECT_EQ(turn(frame).retval, kRedirect);
  EXPECT_EQ(turn(frame).retval, kRedirect);
  EXPECT_EQ(turn(frame).retval, kDrop);  // the limit
  EXPECT_EQ(loop().emitted, 2u);
  EXPECT_EQ(loop().ended, 1u);

  loop().limit = ~0ull;
  loop().stop = 1;
  EXPECT_EQ(turn(frame).retval, kDrop);
  EXPECT_EQ(loop().ended, 2u);

  loop().stop = 0;
  loop().deadline_ns = 1;  // long past; without a rate the clock is read every 64th turn
  loop().turns = 63;
  EXPECT_EQ(turn(frame).retval, kDrop);
  EXPECT_EQ(loop().ended, 3u);
  EXPECT_EQ(loop().emitted, 2u);
}

TEST_F(LoopTurn, ATurnNotDueGoesAroundWithoutSending) {
  const auto frame = pktgen::initial_frame(spec());
  // The way back must name a device for the single redirect to succeed (a broadcast needs no
  // entry to return XDP_REDIRECT here): the loopback, which this test run never transmits on.
  const __u32 back = PORTWAY_PKTGEN_LOOP_BACK, lo = 1;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd((*skel_)->maps.pktgen_loop_ports), &back, &lo, BPF_ANY), 0);
  loop().interval_ns = 1000000000ull;
  loop().next_due_ns = ~0ull >> 1;  // far in the future
  const auto r = turn(frame);
  EXPECT_EQ(r.retval, kRedirect);      // back around the loop ...
  EXPECT_EQ(r.output, frame);          // ... as it came: nothing written
  EXPECT_EQ(loop().emitted, 0u);       // ... and nothing sent
  EXPECT_EQ(loop().idle_turns, 1u);
  loop().next_due_ns = 0;  // overdue by more than 1 ms: sends, and the schedule restarts from now
  EXPECT_EQ(turn(frame).retval, kRedirect);
  EXPECT_EQ(loop().emitted, 1u);
  EXPECT_GT(loop().next_due_ns, 1000000000ull);
}

TEST_F(LoopTurn, AFrameOfAnotherLengthIsCountedAndEndsNothing) {
  loop().stop = 1;  // even a stopped loop: a stranger is not one of its strands
  EXPECT_EQ(turn(std::vector<std::uint8_t>(90, 0)).retval, kDrop);
  EXPECT_EQ(loop().flow.bad_length, 1u);
  EXPECT_EQ(loop().ended, 0u);
  EXPECT_EQ(loop().turns, 0u);
}

}  // namespace
}  // namespace portway::test
