// The dataplane hand-off's conversions (dataplane/handoff/flow_translation.h): a fast-path flow
// becomes the conntrack translation nftables would have made, and back, for service addresses,
// node ports and hairpinned sandboxes; flows the receiving dataplane would not keep are dropped.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstring>
#include <span>

#include "dataplane/handoff/flow_translation.h"

namespace portway::dataplane::handoff {
namespace {

std::uint32_t be(const char* a) { return htonl(net::parse_ipv4(a)->value); }
net::Ipv4 ip(const char* a) { return *net::parse_ipv4(a); }

constexpr std::uint64_t kNow = 100'000'000'000ull;  // 100 s on the coarse clock

// The gens the frontends have in the tables below (pw_frontend_gens): a fresh fast path has
// bumped each at least once, so 0 is never current. A flow the program would use carries its
// frontend's current gen.
constexpr std::uint32_t kGenSvc = 4, kGenNodePort = 9;
std::uint32_t gen_of(std::uint32_t frontend_id) {
  return frontend_id == 11 ? kGenSvc : frontend_id == 12 ? kGenNodePort : 0;
}

// svc 198.19.0.7:80/tcp -> set 3 target 8080; node port 30080/tcp -> set 3 target 8080; backends
// 5 (198.18.10.2, running) and 6 (198.18.11.2, draining) of set 3, 7 (198.18.12.2) of set 4.
FastPathTables tables() {
  std::vector<std::pair<pw_frontend_key, pw_frontend>> fes;
  fes.push_back({{be("198.19.0.7"), htons(80), IPPROTO_TCP, PW_FRONTEND_SERVICE}, {11, 3, htons(8080), 0, kGenSvc}});
  fes.push_back({{0, htons(30080), IPPROTO_TCP, PW_FRONTEND_NODE_PORT}, {12, 3, htons(8080), 0, kGenNodePort}});
  std::vector<pw_backend> backends(8);
  backends[5] = {be("198.18.10.2"), 0, 3, PW_BACKEND_RUNNING, {}};
  backends[6] = {be("198.18.11.2"), 0, 3, PW_BACKEND_DRAINING, {}};
  backends[7] = {be("198.18.12.2"), 0, 4, PW_BACKEND_RUNNING, {}};
  const std::vector<std::uint32_t> node{be("198.18.0.1")};
  return FastPathTables(fes, node, backends);
}

// The address in the fast path's maps (network order) of "a.b.c.d" or an IPv6 text.
std::uint32_t wire(const char* a, net::Ipv4) { return be(a); }
pw_in6 wire(const char* a, net::Ipv6) { return FlowFamily<net::Ipv6>::to_wire(*net::parse_ipv6(a)); }

// A TCP flow of either family to target port 8080.
template <typename Addr = net::Ipv4>
BasicBpfFlow<Addr> flow(const char* client, std::uint16_t cport, const char* fe, std::uint16_t fport,
                        std::uint32_t backend_id, const char* backend, std::uint32_t frontend_id,
                        std::uint64_t last_seen = kNow) {
  typename FlowFamily<Addr>::Key k{};
  k.saddr = wire(client, Addr{});
  k.daddr = wire(fe, Addr{});
  k.sport = htons(cport);
  k.dport = htons(fport);
  k.proto = IPPROTO_TCP;
  typename FlowFamily<Addr>::Flow f{};
  f.backend_id = backend_id;
  f.backend_addr = wire(backend, Addr{});
  f.target_port = htons(8080);
  f.frontend_id = frontend_id;
  f.frontend_gen = gen_of(frontend_id);
  f.last_seen_ns = last_seen;
  return {k, f};
}

TEST(FlowTranslation, FastPathFlowsBecomeConntrackTranslations) {
  std::vector<BpfFlow> flows{
      flow("198.18.0.2", 40000, "198.19.0.7", 80, 5, "198.18.10.2", 11, kNow - 3'000'000'000ull),
      flow("198.18.0.2", 40001, "198.18.0.1", 30080, 6, "198.18.11.2", 12),
  };
  // A sandbox that reached its own Service: source NATed to the node address.
  BpfFlow hairpin = flow("198.18.10.2", 50000, "198.19.0.7", 80, 5, "198.18.10.2", 11);
  hairpin.second.flags = PW_FLOW_HAIRPIN;
  hairpin.second.snat_addr = be("198.18.0.1");
  flows.push_back(hairpin);

  const Converted c = nat_flows_of(flows, tables(), kNow);
  ASSERT_EQ(c.flows.size(), 3u);
  EXPECT_EQ(c.dropped, 0u);
  const conntrack::NatFlow& svc = c.flows[0];
  EXPECT_EQ(svc.protocol, IPPROTO_TCP);
  EXPECT_EQ(svc.client, ip("198.18.0.2"));
  EXPECT_EQ(svc.client_port, 40000);
  EXPECT_EQ(svc.frontend, ip("198.19.0.7"));
  EXPECT_EQ(svc.frontend_port, 80);
  EXPECT_EQ(svc.backend, ip("198.18.10.2"));
  EXPECT_EQ(svc.backend_port, 8080);
  EXPECT_FALSE(svc.snat);
  EXPECT_EQ(svc.idle, std::chrono::milliseconds(3000));
  EXPECT_EQ(c.flows[1].frontend, ip("198.18.0.1")) << "a node port keeps the node address";
  EXPECT_EQ(c.flows[1].backend, ip("198.18.11.2")) << "a draining backend keeps its flows";
  ASSERT_TRUE(c.flows[2].snat);
  EXPECT_EQ(*c.flows[2].snat, ip("198.18.0.1"));
}

// A flow recorded under an earlier gen of its frontend id: the program re-picks its backend on
// the next packet instead of using it.
BpfFlow stale_gen(BpfFlow f) {
  --f.second.frontend_gen;
  return f;
}

TEST(FlowTranslation, FlowsTheOtherDataplaneWouldNotKeepAreDropped) {
  const std::vector<BpfFlow> flows{
      flow("198.18.0.2", 1, "198.19.0.8", 80, 5, "198.18.10.2", 11),   // frontend gone
      flow("198.18.0.2", 2, "198.19.0.7", 80, 5, "198.18.99.2", 11),   // backend slot reused
      flow("198.18.0.2", 3, "198.19.0.7", 80, 4, "198.18.10.2", 11),   // backend slot unused
      flow("198.18.0.2", 4, "198.18.0.9", 30080, 5, "198.18.10.2", 12),  // not a node address
      stale_gen(flow("198.18.0.2", 5, "198.19.0.7", 80, 5, "198.18.10.2", 11)),  // of the id's former frontend
  };
  const Converted c = nat_flows_of(flows, tables(), kNow);
  EXPECT_TRUE(c.flows.empty());
  EXPECT_EQ(c.dropped, 5u);
}

TEST(FlowTranslation, ConntrackTranslationsBecomeFastPathFlowsAndBack) {
  const std::vector<BpfFlow> flows{
      flow("198.18.0.2", 40000, "198.19.0.7", 80, 5, "198.18.10.2", 11),
      flow("198.18.0.2", 40001, "198.18.0.1", 30080, 6, "198.18.11.2", 12),
  };
  const Converted there = nat_flows_of(flows, tables(), kNow);
  const ConvertedBpf back = bpf_flows_of(there.flows, tables(), kNow);
  ASSERT_EQ(back.flows.size(), flows.size());
  for (std::size_t i = 0; i < flows.size(); ++i) {
    EXPECT_EQ(std::memcmp(&back.flows[i].first, &flows[i].first, sizeof(pw_flow_key)), 0) << i;
    EXPECT_EQ(std::memcmp(&back.flows[i].second, &flows[i].second, sizeof(pw_flow)), 0) << i;
  }
  // The reverse entry the program will find for the reply.
  const pw_flow_key rk = loader::reverse_key_of(back.flows[0].first, back.flows[0].second);
  EXPECT_EQ(rk.saddr, be("198.18.10.2"));
  EXPECT_EQ(rk.daddr, be("198.18.0.2"));
  EXPECT_EQ(rk.sport, htons(8080));
  EXPECT_EQ(rk.dport, htons(40000));
}

TEST(FlowTranslation, ForeignTranslationsStayInConntrack) {
  conntrack::NatFlow other;  // another program's DNAT, or to a backend outside the set
  other.protocol = IPPROTO_TCP;
  other.client = ip("198.18.0.2");
  other.client_port = 1000;
  other.frontend = ip("198.19.0.7");
  other.frontend_port = 80;
  other.backend = ip("198.18.12.2");  // set 4, not the frontend's set 3
  other.backend_port = 8080;
  conntrack::NatFlow wrong_port = other;
  wrong_port.backend = ip("198.18.10.2");
  wrong_port.backend_port = 9999;
  conntrack::NatFlow elsewhere = other;
  elsewhere.frontend = ip("10.0.0.1");
  const std::vector<conntrack::NatFlow> in{other, wrong_port, elsewhere};
  const ConvertedBpf out = bpf_flows_of(in, tables(), kNow);
  EXPECT_TRUE(out.flows.empty());
  EXPECT_EQ(out.dropped, 3u);
}

// IPv6: the backend's address comes from pw_backend_addrs6 (pw_backends holds 0 for an
// IPv6-only backend), frontends from pw_frontends6, node ports on the IPv6 node addresses.
pw_in6 in6(const char* a) { return wire(a, net::Ipv6{}); }

FastPathTables6 tables6() {
  std::vector<std::pair<pw_frontend6_key, pw_frontend>> fes;
  fes.push_back({{in6("2001:2:1::7"), htons(80), IPPROTO_TCP, PW_FRONTEND_SERVICE}, {11, 3, htons(8080), 0, kGenSvc}});
  fes.push_back({{pw_in6{}, htons(30080), IPPROTO_TCP, PW_FRONTEND_NODE_PORT}, {12, 3, htons(8080), 0, kGenNodePort}});
  std::vector<pw_backend> backends(8);
  backends[5] = {0, 0, 3, PW_BACKEND_RUNNING, {}};
  backends[6] = {be("198.18.11.2"), 0, 3, PW_BACKEND_DRAINING, {}};
  std::vector<pw_in6> addrs6(8);
  addrs6[5] = in6("2001:2:0:10::2");
  addrs6[6] = in6("2001:2:0:11::2");
  const std::vector<pw_in6> node{in6("2001:2::1")};
  return FastPathTables6(fes, node, backends, addrs6);
}

TEST(FlowTranslation, Ipv6FlowsBecomeConntrackTranslationsAndBack) {
  std::vector<BpfFlow6> flows{
      flow<net::Ipv6>("2001:2::2", 40000, "2001:2:1::7", 80, 5, "2001:2:0:10::2", 11),
      flow<net::Ipv6>("2001:2::2", 40001, "2001:2::1", 30080, 6, "2001:2:0:11::2", 12),
  };
  BpfFlow6 hairpin = flow<net::Ipv6>("2001:2:0:10::2", 50000, "2001:2:1::7", 80, 5, "2001:2:0:10::2", 11);
  hairpin.second.flags = PW_FLOW_HAIRPIN;
  hairpin.second.snat_addr = in6("2001:2::1");
  flows.push_back(hairpin);
  const auto there = nat_flows_of<net::Ipv6>(std::span<const BpfFlow6>(flows), tables6(), kNow);
  ASSERT_EQ(there.flows.size(), 3u);
  EXPECT_EQ(there.dropped, 0u);
  EXPECT_EQ(there.flows[0].backend, *net::parse_ipv6("2001:2:0:10::2"));
  EXPECT_EQ(there.flows[1].frontend, *net::parse_ipv6("2001:2::1")) << "a node port keeps the node address";
  ASSERT_TRUE(there.flows[2].snat);
  EXPECT_EQ(*there.flows[2].snat, *net::parse_ipv6("2001:2::1"));
  const auto back =
      bpf_flows_of<net::Ipv6>(std::span<const conntrack::NatFlow6>(there.flows), tables6(), kNow);
  ASSERT_EQ(back.flows.size(), flows.size());
  for (std::size_t i = 0; i < flows.size(); ++i) {
    EXPECT_EQ(std::memcmp(&back.flows[i].first, &flows[i].first, sizeof(pw_flow6_key)), 0) << i;
    EXPECT_EQ(std::memcmp(&back.flows[i].second, &flows[i].second, sizeof(pw_flow6)), 0) << i;
  }
}

TEST(FlowTranslation, Ipv6FlowsTheOtherDataplaneWouldNotKeepAreDropped) {
  const std::vector<BpfFlow6> flows{
      flow<net::Ipv6>("2001:2::2", 1, "2001:2:1::8", 80, 5, "2001:2:0:10::2", 11),     // frontend gone
      flow<net::Ipv6>("2001:2::2", 2, "2001:2:1::7", 80, 5, "2001:2:0:99::2", 11),     // backend slot reused
      flow<net::Ipv6>("2001:2::2", 3, "2001:2:1::7", 80, 4, "2001:2:0:10::2", 11),     // backend slot unused
      flow<net::Ipv6>("2001:2::2", 4, "2001:2::9", 30080, 5, "2001:2:0:10::2", 12),    // not a node address
  };
  const auto c = nat_flows_of<net::Ipv6>(std::span<const BpfFlow6>(flows), tables6(), kNow);
  EXPECT_TRUE(c.flows.empty());
  EXPECT_EQ(c.dropped, 4u);
}

}  // namespace
}  // namespace portway::dataplane::handoff
