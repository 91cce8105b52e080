// Conformance scenario for the counters (docs/dataplane.md "Counters"): per-frontend and
// per-backend packets and new flows, read through Dataplane::stats(), agree with the traffic
// sent. Only UDP datagrams are counted exactly (TCP's packet count depends on the stacks'
// timing), TCP by its new flows.
#include <thread>

#include "conformance_fixture.h"
#include "lab/probe_client.h"

namespace portway::conformance {
namespace {

using lab::ProbeStatus;
using namespace std::chrono_literals;

dataplane::TrafficCounters minus(const dataplane::TrafficCounters& a, const dataplane::TrafficCounters& b) {
  return {a.packets - b.packets, a.bytes - b.bytes, a.new_flows - b.new_flows, a.rejected - b.rejected};
}

TEST_P(ConformanceTest, Counters) {
  const std::string s = "counters";
  apply_web(ground_->all_members());
  const auto before = dp_->stats();
  int sent_ok = 0;
  for (std::uint16_t i = 0; i < 5; ++i)
    sent_ok += lab::udp_probe(client(), vip(), 53, "WHO", 1000ms, static_cast<std::uint16_t>(44000 + i)).status ==
               ProbeStatus::ok;
  for (int i = 0; i < 3; ++i) sent_ok += lab::tcp_probe(client(), vip(), 80).status == ProbeStatus::ok;
  for (std::uint16_t i = 0; i < 2; ++i)
    sent_ok += lab::udp_probe(client(), node_address(), kNodePortUdp, "WHO", 1000ms,
                              static_cast<std::uint16_t>(44100 + i))
                   .status == ProbeStatus::ok;
  ASSERT_EQ(sent_ok, 10) << "traffic for the counters did not get through";
  std::this_thread::sleep_for(300ms);  // the TCP connections' last packets
  const auto after = dp_->stats();

  const auto fe = [&](const std::string& key) {
    const auto a = after.frontends.find(key);
    const auto b = before.frontends.find(key);
    EXPECT_NE(a, after.frontends.end()) << "no counters for frontend " << key;
    if (a == after.frontends.end()) return dataplane::TrafficCounters{};
    return b == before.frontends.end() ? a->second : minus(a->second, b->second);
  };
  const auto dns = fe(frontend_key(vip(), 53, "udp"));
  const auto http = fe(frontend_key(vip(), 80, "tcp"));
  const auto np = fe("node:30053/udp");
  record(s, "vip_udp53.packets", std::to_string(dns.packets));
  record(s, "vip_udp53.new_flows", std::to_string(dns.new_flows));
  record(s, "vip_udp53.bytes", std::to_string(dns.bytes));
  record(s, "vip_tcp80.new_flows", std::to_string(http.new_flows));
  record(s, "vip_tcp80.packets_at_least_4_per_flow", yes_no(http.packets >= 4 * 3));
  record(s, "node_udp30053.packets", std::to_string(np.packets));
  record(s, "node_udp30053.new_flows", std::to_string(np.new_flows));
  EXPECT_EQ(dns.packets, 5u);
  EXPECT_EQ(dns.new_flows, 5u);
  EXPECT_EQ(http.new_flows, 3u);
  EXPECT_GE(http.packets, 12u) << "SYN, ACK, data, FIN at least";
  EXPECT_EQ(np.packets, 2u);
  EXPECT_EQ(np.new_flows, 2u);

  // Per backend: what the frontends forwarded, spread over the members.
  dataplane::TrafficCounters total;
  for (const auto& [key, c] : after.backends) {
    const auto b = before.backends.find(key);
    const auto d = b == before.backends.end() ? c : minus(c, b->second);
    total.packets += d.packets;
    total.new_flows += d.new_flows;
  }
  const std::uint64_t forwarded = dns.packets + http.packets + np.packets;
  record(s, "backends.new_flows_total", std::to_string(total.new_flows));
  record(s, "backends.packets_equal_frontends", yes_no(total.packets == forwarded));
  record(s, "backends.entries", std::to_string(after.backends.size()));
  EXPECT_EQ(total.new_flows, 10u);
  EXPECT_EQ(total.packets, forwarded);
}

}  // namespace
}  // namespace portway::conformance
