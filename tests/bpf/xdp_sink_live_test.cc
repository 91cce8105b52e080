// The sink attached to a real device, for what BPF_PROG_TEST_RUN cannot deliver.
#include <linux/bpf.h>
#include <linux/if_link.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "loader/libbpf_log.h"
#include "loader/percpu_map.h"
#include "loader/xdp_attachment.h"
#include "portway/sink_abi.h"
#include "support/netns.h"
#include "support/root.h"
#include "support/tun_device.h"
#include "xdp_sink_skeleton.h"

namespace portway::test {
namespace {

// test_run refuses frames under 14 bytes (see xdp_sink_test.cc). A layer-3 TUN device has no
// link header at all, so generic XDP there sees the IP packet itself from its first byte: a
// 10-byte packet written to the TUN fd reaches the program as a 10-byte frame, which is exactly
// a runt from the sink's point of view.
TEST(XdpSinkLive, CountsRuntFramesFromARealDeviceSeparately) {
  PORTWAY_REQUIRE_ROOT();
  loader::route_libbpf_logs_to_spdlog();
  auto skel = XdpSink::open_and_load();

  const ScopedNetns netns;
  const TunDevice tun("pwsink%d");
  const loader::XdpAttachment attachment(tun.ifindex(),
                                         bpf_program__fd(skel->progs.xdp_sink),
                                         XDP_FLAGS_SKB_MODE);

  std::vector<std::uint8_t> runt(10, 0);
  runt[0] = 0x45;  // IPv4 version nibble, or the TUN driver drops it before XDP
  std::vector<std::uint8_t> full(60, 0);
  full[0] = 0x45;
  tun.inject(runt);
  tun.inject(runt);
  tun.inject(full);

  // Generic XDP on TUN normally runs inside write(); poll briefly in case a kernel defers
  // it to the backlog softirq.
  const loader::PerCpuArray<portway_sink_counters> map(skel->maps.sink_counters);
  auto c = map.sum(0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (c.packets + c.runt_packets < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c = map.sum(0);
  }
  EXPECT_EQ(c.runt_packets, 2u);
  EXPECT_EQ(c.runt_bytes, 20u);
  EXPECT_EQ(c.packets, 1u);
  EXPECT_EQ(c.bytes, 60u);
}

}  // namespace
}  // namespace portway::test
