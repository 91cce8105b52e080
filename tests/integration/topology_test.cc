// The lab topology and the test app, without any portway dataplane: plain routing through the
// node namespace. Everything here is the ground the dataplane tests stand on, so it is tested
// on its own first.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "lab/ns_process.h"
#include "lab/topology.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "support/root.h"
#include "lab/probe_client.h"

namespace portway::lab {
namespace {

using lab::ProbeStatus;

TopologyPlan unique_plan(unsigned sandboxes) {
  return {"pwt" + std::to_string(getpid() % 100000), sandboxes};
}

// Removes the plan's namespaces however the test ends.
struct TopologyCleanup {
  TopologyPlan plan;
  ~TopologyCleanup() { destroy_topology(plan); }
};

// The test app is ready when it answers; bounded wait.
void wait_until_answering(const std::string& netns, const std::string& addr, std::uint16_t port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (lab::tcp_probe(netns, addr, port, "WHO\n", std::chrono::milliseconds(200)).status == ProbeStatus::ok)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "test app on " << addr << ":" << port << " never answered";
}

TEST(Topology, PlanUsesOnlyTheBenchmarkingRange) {
  const Topology t = plan_topology({"x", 3});
  EXPECT_EQ(net::to_string(t.client_address), "198.18.0.2");
  EXPECT_EQ(net::to_string(t.node_address), "198.18.0.1");
  ASSERT_EQ(t.sandboxes.size(), 3u);
  EXPECT_EQ(net::to_string(t.sandboxes[2].address), "198.18.12.2");
  EXPECT_EQ(t.sandboxes[2].netns, "x-sb2");
  const net::Ipv4Prefix bench{net::Ipv4{0xC6120000u}, 15};
  EXPECT_TRUE(bench.contains(t.sandboxes[2].gateway));
  EXPECT_TRUE(bench.contains(kLabServiceCidr.network));
  EXPECT_THROW(plan_topology({"x", 201}), std::invalid_argument);
}

TEST(Topology, ClientReachesEverySandboxThroughTheNode) {
  PORTWAY_REQUIRE_ROOT();
  const TopologyPlan plan = unique_plan(2);
  TopologyCleanup cleanup{plan};
  const Topology t = build_topology(plan);

  std::vector<NsProcess> apps;
  for (std::size_t i = 0; i < t.sandboxes.size(); ++i) {
    apps.push_back(NsProcess::spawn(t.sandboxes[i].netns,
                                    {PORTWAY_TESTAPP, "--id", "sb" + std::to_string(i), "--tcp", "7000",
                                     "--udp", "7001", "--http", "3000", "--max-seconds", "60"}));
  }
  for (const auto& sb : t.sandboxes) wait_until_answering(t.client_netns, net::to_string(sb.address), 7000);

  for (std::size_t i = 0; i < t.sandboxes.size(); ++i) {
    const std::string addr = net::to_string(t.sandboxes[i].address);
    const auto tcp = lab::tcp_probe(t.client_netns, addr, 7000);
    ASSERT_EQ(tcp.status, ProbeStatus::ok) << tcp.error;
    lab::WhoAnswer who;
    ASSERT_TRUE(lab::parse_who(tcp.reply, who)) << tcp.reply;
    EXPECT_EQ(who.sandbox, "sb" + std::to_string(i));
    EXPECT_EQ(who.client_addr, "198.18.0.2") << "routing, no NAT: the client address arrives as is";
    EXPECT_EQ(who.client_port, tcp.local_port);

    const auto udp = lab::udp_probe(t.client_netns, addr, 7001);
    ASSERT_EQ(udp.status, ProbeStatus::ok) << udp.error;
    ASSERT_TRUE(lab::parse_who(udp.reply, who)) << udp.reply;
    EXPECT_EQ(who.proto, "udp");

    const auto echo = lab::tcp_probe(t.client_netns, addr, 7000, "hello\n");
    EXPECT_EQ(echo.reply, "hello\n");
    const auto health = lab::tcp_probe(t.client_netns, addr, 3000, "GET /health HTTP/1.0\r\n\r\n");
    EXPECT_NE(health.reply.find("200 OK"), std::string::npos) << health.reply;
  }

  // Nothing listens on 7002: the kernel's own answers, the reference for portway's rejects.
  EXPECT_EQ(lab::tcp_probe(t.client_netns, net::to_string(t.sandboxes[0].address), 7002).status,
            ProbeStatus::refused);
  EXPECT_EQ(lab::udp_probe(t.client_netns, net::to_string(t.sandboxes[0].address), 7002).status,
            ProbeStatus::refused);
}

TEST(Topology, DestroyRemovesEverythingAndToleratesPartialState) {
  PORTWAY_REQUIRE_ROOT();
  const TopologyPlan plan = unique_plan(1);
  TopologyCleanup cleanup{plan};
  const Topology t = plan_topology(plan);
  netlink::create_named_netns(t.node_netns);  // as if a crash interrupted `lab up`
  EXPECT_EQ(destroy_topology(plan), 1u);
  EXPECT_FALSE(netlink::named_netns_exists(t.node_netns));
  EXPECT_EQ(destroy_topology(plan), 0u);

  build_topology(plan);
  EXPECT_TRUE(netlink::named_netns_exists(t.sandboxes[0].netns));
  EXPECT_EQ(destroy_topology(plan), 3u);
  for (const auto& name : netlink::list_named_netns())
    EXPECT_EQ(name.rfind(plan.prefix + "-", 0), std::string::npos) << "left behind: " << name;
}

TEST(Topology, BuildingOverAnExistingLabFailsCleanly) {
  PORTWAY_REQUIRE_ROOT();
  const TopologyPlan plan = unique_plan(1);
  TopologyCleanup cleanup{plan};
  const Topology t = plan_topology(plan);
  netlink::create_named_netns(t.client_netns);
  EXPECT_THROW(build_topology(plan), std::system_error);
  EXPECT_FALSE(netlink::named_netns_exists(t.node_netns)) << "a failed build removes what it made";
}

}  // namespace
}  // namespace portway::lab
