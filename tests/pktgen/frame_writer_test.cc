// The packet-socket engine's frames (pktgen/frame_writer.h) against the program's
// (bpf/pktgen.bpf.c), byte for byte: the program runs once per frame with BPF_PROG_TEST_RUN (no
// live frames), and the writer is given the flow the shared counter step picks and the stamp the
// program wrote, so every other byte, and the checksums over the stamp, must agree.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "loader/prog_test_run.h"
#include "pktgen/frame_spec.h"
#include "pktgen/frame_writer.h"
#include "pktgen/generator.h"
#include "on_one_cpu.h"

namespace portway::test {
namespace {

struct Case {
  const char* name;
  pktgen::L4 l4;
  bool v6;
  std::uint16_t size;
  bool stamp;
  bool new_flows;
};

pktgen::FrameSpec spec_of(const Case& c) {
  pktgen::FrameSpec s;
  s.l4 = c.l4;
  s.src_mac = {0x02, 0, 0, 0, 0x0b, 0x01};
  s.dst_mac = {0x02, 0, 0, 0, 0x0b, 0x02};
  if (c.v6) {
    s.src = *net::parse_ipv6("2001:2::fffe");  // the last 32 bits carry past 0xffff
    s.dst = *net::parse_ipv6("2001:2:0:1::7");
  } else {
    s.src = net::Ipv4{0xC61200FEu};  // 198.18.0.254: the count carries into the third octet
    s.dst = net::Ipv4{0xC6130007u};
  }
  s.src_count = 5;
  s.src_port = 65530;  // ports up to 65535
  s.src_port_count = 6;
  s.dst_port = 443;
  s.frame_size = c.size;
  s.stamp = c.stamp;
  s.new_flow_per_frame = c.new_flows;
  return s;
}

class FrameWriterVsProgram : public OnOneCpu<::testing::TestWithParam<Case>> {};

TEST_P(FrameWriterVsProgram, EveryFrameIsTheProgramsByteForByte) {
  const Case c = GetParam();
  const pktgen::FrameSpec spec = spec_of(c);
  const portway_pktgen_config config = pktgen::to_config(spec);
  pktgen::Generator gen(spec);
  const pktgen::FrameWriter writer(config);
  const std::size_t stamp_at = pktgen::header_size(spec);
  ASSERT_EQ(writer.stamped(), c.stamp && c.size >= stamp_at + sizeof(portway_pktgen_stamp));

  portway_pktgen_counters counters{};  // the program's slot starts at zero too
  std::vector<std::uint8_t> mine(c.size, 0);
  // More frames than the flow space (30): the cycle and the new-flow sequence wrap.
  for (int i = 0; i < 70; ++i) {
    const auto theirs = loader::test_run(gen.prog_fd(), gen.frame());
    ASSERT_EQ(theirs.retval, static_cast<std::uint32_t>(XDP_TX));
    ASSERT_EQ(theirs.output.size(), mine.size());
    portway_pktgen_stamp stamp{};
    if (writer.stamped()) std::memcpy(&stamp, theirs.output.data() + stamp_at, sizeof stamp);
    // Written over the previous frame, as the engine reuses its buffers.
    writer.write(portway_pktgen_next_flow(&counters, config.flows, config.new_flow_per_frame), mine, stamp.cpu,
                 stamp.sent_ns);
    ASSERT_EQ(mine, theirs.output) << "frame " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Frames, FrameWriterVsProgram,
    ::testing::Values(Case{"UdpV4Stamped", pktgen::L4::udp, false, 96, true, false},
                      Case{"UdpV4HeadersOnly", pktgen::L4::udp, false, 42, true, false},
                      Case{"UdpV4OddLength", pktgen::L4::udp, false, 101, true, false},
                      Case{"TcpSynV4NewFlows", pktgen::L4::tcp_syn, false, 64, false, true},
                      Case{"TcpAckV4Stamped", pktgen::L4::tcp_ack, false, 90, true, false},
                      Case{"UdpV6Stamped", pktgen::L4::udp, true, 100, true, true},
                      Case{"TcpSynV6", pktgen::L4::tcp_syn, true, 74, true, false},
                      Case{"TcpAckV6Stamped", pktgen::L4::tcp_ack, true, 128, true, false}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(FrameWriter, RefusesABufferOfAnotherSize) {
  const pktgen::FrameWriter writer(pktgen::to_config(spec_of({"", pktgen::L4::udp, false, 64, false, false})));
  std::vector<std::uint8_t> shorter(63, 0);
  EXPECT_THROW(writer.write(0, shorter, 0, 0), std::invalid_argument);
}

}  // namespace
}  // namespace portway::test
