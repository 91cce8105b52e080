// The generator program's frames, byte for byte: one BPF_PROG_TEST_RUN per frame (no live
// frames) compared with tests/support/packet_builder output (IPv4) or a hand-built frame
// (IPv6; PacketBuilder is IPv4-only) whose checksum is checked independently.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <time.h>

#include <cstring>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "loader/prog_test_run.h"
#include "pktgen/frame_spec.h"
#include "pktgen/generator.h"
#include "support/checksum.h"
#include "on_one_cpu.h"
#include "support/packet_builder.h"
#include "support/root.h"

namespace portway::test {
namespace {

constexpr pktgen::Mac kSrcMac{0x02, 0, 0, 0, 0x0a, 0x01};
constexpr pktgen::Mac kDstMac{0x02, 0, 0, 0, 0x0a, 0x02};

pktgen::FrameSpec spec_v4(pktgen::L4 l4, std::uint16_t size, bool stamp) {
  pktgen::FrameSpec s;
  s.l4 = l4;
  s.src_mac = kSrcMac;
  s.dst_mac = kDstMac;
  s.src = net::Ipv4{0xC6120005u};  // 198.18.0.5
  s.src_count = 3;
  s.src_port = 2000;
  s.src_port_count = 4;
  s.dst = net::Ipv4{0xC6130007u};  // 198.19.0.7
  s.dst_port = 9000;
  s.frame_size = size;
  s.stamp = stamp;
  return s;
}

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// One frame from the generator: a zero buffer of frame_size in, XDP_TX expected.
std::vector<std::uint8_t> one_frame(pktgen::Generator& gen) {
  const auto r = loader::test_run(gen.prog_fd(), gen.frame());
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_TX));
  return r.output;
}

// The stamp at `offset`: right magic, sent between `before` and `after`; returns its bytes.
std::vector<std::uint8_t> check_stamp(const std::vector<std::uint8_t>& frame, std::size_t offset,
                                      std::uint64_t before, std::uint64_t after) {
  portway_pktgen_stamp s{};
  EXPECT_GE(frame.size(), offset + sizeof s);
  std::memcpy(&s, frame.data() + offset, sizeof s);
  EXPECT_EQ(s.magic, PORTWAY_PKTGEN_MAGIC);
  EXPECT_GE(s.sent_ns, before);
  EXPECT_LE(s.sent_ns, after);
  return {frame.begin() + static_cast<std::ptrdiff_t>(offset),
          frame.begin() + static_cast<std::ptrdiff_t>(offset + sizeof s)};
}

PacketBuilder builder_for(std::uint16_t sport, std::uint8_t last_octet) {
  return PacketBuilder{}
      .src_mac(kSrcMac)
      .dst_mac(kDstMac)
      .src_ip({198, 18, 0, last_octet})
      .dst_ip({198, 19, 0, 7})
      .src_port(sport)
      .dst_port(9000);
}

class GeneratorFrame : public OnOneCpu<::testing::Test> {};

TEST_F(GeneratorFrame, UdpV4MatchesPacketBuilderWithTheStamp) {
  pktgen::Generator gen(spec_v4(pktgen::L4::udp, 128, true));
  const std::uint64_t before = monotonic_ns();
  const auto frame = one_frame(gen);
  const std::uint64_t after = monotonic_ns();
  ASSERT_EQ(frame.size(), 128u);
  std::vector<std::uint8_t> payload = check_stamp(frame, 14 + 20 + 8, before, after);
  payload.resize(128 - 42, 0);
  EXPECT_EQ(frame, builder_for(2000, 5).payload(payload).udp());
}

TEST_F(GeneratorFrame, TcpSynAndAckV4MatchPacketBuilder) {
  for (const auto& [l4, flags, ack] : {std::tuple{pktgen::L4::tcp_syn, tcp_flags::kSyn, 0u},
                                       std::tuple{pktgen::L4::tcp_ack, tcp_flags::kAck, 1u}}) {
    pktgen::Generator gen(spec_v4(l4, 54, false));  // headers only: no room for a stamp
    const auto frame = one_frame(gen);
    EXPECT_EQ(frame, builder_for(2000, 5).tcp_flags(flags).tcp_seq(1).tcp_ack(ack).tcp());
  }
}

TEST_F(GeneratorFrame, TcpV4WithStampMatchesPacketBuilder) {
  pktgen::Generator gen(spec_v4(pktgen::L4::tcp_ack, 90, true));
  const std::uint64_t before = monotonic_ns();
  const auto frame = one_frame(gen);
  std::vector<std::uint8_t> payload = check_stamp(frame, 54, before, monotonic_ns());
  payload.resize(90 - 54, 0);
  EXPECT_EQ(frame, builder_for(2000, 5).tcp_flags(tcp_flags::kAck).tcp_ack(1).payload(payload).tcp());
}

// Frames cycle over ports first, then addresses: (2000,.5) (2001,.5) ... (2003,.5) (2000,.6) ...
// Each frame is written over the previous one's bytes (the live page pool recycles frames the
// same way): the result must not depend on what was there.
TEST_F(GeneratorFrame, CyclesPortsThenAddressesAndRewritesEveryHeader) {
  auto spec = spec_v4(pktgen::L4::udp, 64, false);
  spec.flows = 10;
  pktgen::Generator gen(spec);
  std::vector<std::uint8_t> dirty = gen.frame();
  for (std::uint32_t i = 0; i < 12; ++i) {
    const auto r = loader::test_run(gen.prog_fd(), dirty);
    const std::uint32_t f = i % 10;
    const auto expected = builder_for(static_cast<std::uint16_t>(2000 + f % 4), static_cast<std::uint8_t>(5 + f / 4))
                              .payload(std::vector<std::uint8_t>(64 - 42, 0))
                              .udp();
    EXPECT_EQ(r.output, expected) << "frame " << i;
    // The next run starts from this frame with its headers scrambled (the payload stays zero,
    // as nothing downstream writes it).
    dirty = r.output;
    for (std::size_t b = 0; b < 42; ++b) dirty[b] = static_cast<std::uint8_t>(dirty[b] ^ 0x5a);
  }
}

TEST_F(GeneratorFrame, NewFlowPerFrameNeverRepeatsATuple) {
  auto spec = spec_v4(pktgen::L4::tcp_syn, 54, false);
  spec.src_count = 100;
  spec.src_port_count = 100;
  spec.new_flow_per_frame = true;
  pktgen::Generator gen(spec);
  std::set<std::vector<std::uint8_t>> tuples;
  for (int i = 0; i < 300; ++i) {
    const auto frame = one_frame(gen);
    tuples.insert({frame.begin() + 26, frame.begin() + 38});  // saddr, daddr, sport, dport
  }
  EXPECT_EQ(tuples.size(), 300u);
}

TEST_F(GeneratorFrame, UdpV6HasTheRightHeadersAndChecksum) {
  pktgen::FrameSpec s = spec_v4(pktgen::L4::udp, 100, true);
  s.src = *net::parse_ipv6("2001:2::10");
  s.dst = *net::parse_ipv6("2001:2:0:1::7");
  pktgen::Generator gen(s);
  const std::uint64_t before = monotonic_ns();
  const auto frame = one_frame(gen);
  ASSERT_EQ(frame.size(), 100u);
  const auto stamp = check_stamp(frame, 14 + 40 + 8, before, monotonic_ns());

  std::vector<std::uint8_t> expected;
  expected.insert(expected.end(), kDstMac.begin(), kDstMac.end());
  expected.insert(expected.end(), kSrcMac.begin(), kSrcMac.end());
  expected.insert(expected.end(), {0x86, 0xdd, 0x60, 0, 0, 0, 0, 46, 17, 64});
  const auto src = net::parse_ipv6("2001:2::10")->bytes;
  const auto dst = net::parse_ipv6("2001:2:0:1::7")->bytes;
  expected.insert(expected.end(), src.begin(), src.end());
  expected.insert(expected.end(), dst.begin(), dst.end());
  expected.insert(expected.end(), {0x07, 0xd0, 0x23, 0x28, 0, 46, 0, 0});  // 2000 -> 9000, len 46
  expected.insert(expected.end(), stamp.begin(), stamp.end());
  expected.resize(100, 0);
  // RFC 8200 pseudo-header: addresses, upper-layer length, next header.
  std::uint32_t sum = checksum_add(std::span(expected).subspan(22, 32));
  const std::uint8_t tail[] = {0, 0, 0, 46, 0, 0, 0, 17};
  sum = checksum_add(tail, sum);
  sum = checksum_add(std::span(expected).subspan(54), sum);
  const std::uint16_t check = checksum_finish(sum);
  expected[60] = static_cast<std::uint8_t>(check >> 8);
  expected[61] = static_cast<std::uint8_t>(check);
  EXPECT_EQ(frame, expected);
}

TEST_F(GeneratorFrame, AFrameOfTheWrongSizeIsDroppedAndCounted) {
  pktgen::Generator gen(spec_v4(pktgen::L4::udp, 64, false));
  const std::vector<std::uint8_t> longer(65, 0);
  EXPECT_EQ(loader::test_run(gen.prog_fd(), longer).retval, static_cast<std::uint32_t>(XDP_DROP));
  EXPECT_EQ(gen.bad_length(), 1u);
}

}  // namespace
}  // namespace portway::test
