// Conformance scenario for delivery into sandboxes whose veth end is as a container runtime
// creates it: GRO off, no XDP program (docs/xdp-dataplane.md, "Delivery"). Node-port traffic
// must arrive on both dataplanes; on the fast path it takes the tc hand-off, never an
// XDP_REDIRECT into such a veth (which would drop every frame).
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "conformance_fixture.h"
#include "lab/probe_client.h"
#include "loader/xdp_features.h"
#include "netlink/netns.h"

namespace portway::conformance {
namespace {

using lab::ProbeStatus;
using namespace std::chrono_literals;

// GRO of `link` in namespace `netns` (ETHTOOL_GGRO), or -1 when it cannot be read.
int gro_of(const std::string& netns, const std::string& link) {
  netlink::NetnsGuard in(netns);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ethtool_value v{};
  v.cmd = ETHTOOL_GGRO;
  ifreq req{};
  std::strncpy(req.ifr_name, link.c_str(), IFNAMSIZ - 1);
  req.ifr_data = reinterpret_cast<char*>(&v);
  const int rc = ::ioctl(fd, SIOCETHTOOL, &req);
  ::close(fd);
  return rc == 0 ? static_cast<int>(v.data) : -1;
}

std::uint64_t delta(const dataplane::Stats& after, const dataplane::Stats& before, const std::string& event) {
  const auto a = after.events.find(event);
  const auto b = before.events.find(event);
  return (a == after.events.end() ? 0 : a->second) - (b == before.events.end() ? 0 : b->second);
}

TEST_P(ConformanceTest, NodePortOnVethDefaults) {
  const std::string s = "node_port_veth_defaults";
  for (const auto& sb : topo().sandboxes)
    ASSERT_EQ(gro_of(sb.netns, "eth0"), 0) << sb.netns << ": the lab's sandbox ends must keep veth defaults";
  apply_web(ground_->all_members());
  const auto before = dp_->stats();
  int tcp_ok = 0, udp_ok = 0;
  for (int i = 0; i < 5; ++i) tcp_ok += lab::tcp_probe(client(), node_address(), kNodePortTcp).status == ProbeStatus::ok;
  for (std::uint16_t i = 0; i < 5; ++i)
    udp_ok += lab::udp_probe(client(), node_address(), kNodePortUdp, "WHO", 1000ms, static_cast<std::uint16_t>(44200 + i))
                  .status == ProbeStatus::ok;
  std::this_thread::sleep_for(300ms);  // the TCP connections' last packets
  const auto after = dp_->stats();
  record(s, "tcp.answered_of_5", std::to_string(tcp_ok));
  record(s, "udp.answered_of_5", std::to_string(udp_ok));
  EXPECT_EQ(tcp_ok, 5);
  EXPECT_EQ(udp_ok, 5);
  if (kind() != dataplane::Kind::xdp) return;
  if (!loader::xdp_metadata_supported()) {
    // A kernel without XDP metadata (loader/xdp_features.h): every frame is passed to the
    // stack translated, and the uplink's tc program forwards it (bpf/lib/tc_forward.h), all
    // but the first frames to each sandbox, sent while the node resolved its MAC (the XDP
    // route had no neighbour, so the stack resolves and routes them): two per sandbox over
    // IPv6's neighbour discovery here, none once the neighbours are known (measured).
    const std::uint64_t passed = delta(after, before, "xdp_stack");
    const std::uint64_t forwarded = delta(after, before, "tc_stack_forward");
    EXPECT_GE(passed, 5u * 3 + 5);
    EXPECT_EQ(delta(after, before, "xdp_tc_handoff"), 0u);
    EXPECT_LE(forwarded, passed);
    EXPECT_GE(forwarded + 2 * topo().sandboxes.size(), passed);
    return;
  }
  // Every translated client frame went through tc, and tc delivered each one.
  const std::uint64_t handed = delta(after, before, "xdp_tc_handoff");
  EXPECT_GE(handed, 5u * 3 + 5) << "at least SYN, ACK, data per connection and each datagram";
  EXPECT_EQ(delta(after, before, "tc_handoff_delivered"), handed);
  EXPECT_EQ(delta(after, before, "xdp_redirect"), 0u) << "no XDP_REDIRECT into a veth without NAPI";
}

}  // namespace
}  // namespace portway::conformance
