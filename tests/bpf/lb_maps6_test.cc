// loader::LbMaps' IPv6 maps (layout 2) against the real kernel maps of portway_lb.
#include <arpa/inet.h>
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "loader/error.h"
#include "loader/lb_capacities.h"
#include "loader/lb_maps.h"
#include "loader/lb_skeleton.h"
#include "loader/libbpf_log.h"
#include "lb_maps_test_support.h"
#include "support/root.h"

namespace portway::test::lb {
namespace {

using loader::LbCapacities;
using loader::LbMaps;
using loader::open_and_load_lb;
using loader::SetFamily;

pw_in6 in6(const char* text) {
  pw_in6 a{};
  if (inet_pton(AF_INET6, text, &a) != 1) ADD_FAILURE() << "bad test address " << text;
  return a;
}

bool same(const pw_in6& a, const pw_in6& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<std::uint32_t> filled(std::size_t m, std::uint32_t id) {
  return std::vector<std::uint32_t>(m, id);
}

class LbMaps6Test : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    loader::route_libbpf_logs_to_spdlog();
  }
};

TEST_F(LbMaps6Test, FrontendsAndAddressesRoundTrip) {
  auto skel = open_and_load_lb(small_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  ASSERT_TRUE(maps.has_ipv6());
  pw_frontend6_key k{};
  k.addr = in6("2001:2::10");
  k.port = htons(443);
  k.proto = kTcp;
  k.kind = PW_FRONTEND_SERVICE;
  pw_frontend v{};
  v.id = 7;
  v.set_id = 3;
  v.target_port = htons(8443);
  maps.upsert_frontend6(k, v);
  const auto got = maps.frontend6(k);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, 7u);
  EXPECT_EQ(got->target_port, htons(8443));
  ASSERT_EQ(maps.frontends6().size(), 1u);
  EXPECT_TRUE(same(maps.frontends6()[0].first.addr, k.addr));
  EXPECT_TRUE(maps.frontends().empty()) << "an IPv6 frontend is not in the IPv4 map";
  EXPECT_TRUE(maps.erase_frontend6(k));
  EXPECT_FALSE(maps.erase_frontend6(k));
  EXPECT_FALSE(maps.frontend6(k).has_value());

  const pw_in6 svc[] = {in6("2001:2::10"), in6("2001:2::11")};
  maps.upsert_service_addrs6(svc);
  EXPECT_EQ(maps.service_addrs6().size(), 2u);
  EXPECT_TRUE(maps.service_addrs().empty());
  EXPECT_TRUE(maps.erase_service_addr6(svc[0]));
  ASSERT_EQ(maps.service_addrs6().size(), 1u);
  EXPECT_TRUE(same(maps.service_addrs6()[0], svc[1]));

  maps.upsert_node_addr6(in6("2001:2:1::1"), pw_node_addr{.flags = PW_NODE_ADDR_HAIRPIN});
  ASSERT_EQ(maps.node_addrs6().size(), 1u);
  EXPECT_EQ(maps.node_addrs6()[0].second.flags, PW_NODE_ADDR_HAIRPIN);
  EXPECT_TRUE(maps.node_addrs().empty());
  EXPECT_TRUE(maps.erase_node_addr6(in6("2001:2:1::1")));
  EXPECT_TRUE(maps.node_addrs6().empty());
}

TEST_F(LbMaps6Test, IdsBeyondCapacityAreRefusedAndNothingIsWritten) {
  const auto caps = small_caps();
  auto skel = open_and_load_lb(caps);
  LbMaps maps(loader::lb_map_fds(*skel));
  pw_frontend good{};
  pw_frontend bad{};
  bad.id = caps.frontends;
  const std::pair<pw_frontend6_key, pw_frontend> batch[] = {
      {pw_frontend6_key{.addr = in6("2001:2::1"), .port = htons(1), .proto = kTcp, .kind = PW_FRONTEND_SERVICE}, good},
      {pw_frontend6_key{.addr = in6("2001:2::2"), .port = htons(1), .proto = kTcp, .kind = PW_FRONTEND_SERVICE}, bad}};
  expect_error([&] { maps.upsert_frontends6(batch); }, EINVAL, "frontend id");
  EXPECT_TRUE(maps.frontends6().empty()) << "a refused batch writes nothing";
  bad.id = 0;
  bad.set_id = caps.backend_sets;
  expect_error([&] { maps.upsert_frontend6(pw_frontend6_key{}, bad); }, EINVAL, "set id");

  const std::pair<std::uint32_t, pw_in6> addrs[] = {{1, in6("2001:2::5")},
                                                    {caps.backends, in6("2001:2::6")}};
  expect_error([&] { maps.set_backend_addrs6(addrs); }, EINVAL, "backend id");
  EXPECT_TRUE(same(maps.backend_addr6(1), pw_in6{}));
}

TEST_F(LbMaps6Test, BackendAddressesDropTheCachedNextHop) {
  auto skel = open_and_load_lb(small_caps());
  const auto fds = loader::lb_map_fds(*skel);
  LbMaps maps(fds);
  const std::uint32_t id = 17;
  pw_nexthop6 stale{};
  stale.expires_ns = ~0ull;
  stale.ifindex = 9;
  ASSERT_EQ(bpf_map_update_elem(fds.nexthops6, &id, &stale, BPF_ANY), 0);
  const std::pair<std::uint32_t, pw_in6> addrs[] = {{id, in6("2001:2:2::17")}};
  maps.set_backend_addrs6(addrs);
  EXPECT_TRUE(same(maps.backend_addr6(id), in6("2001:2:2::17")));
  const auto all = maps.all_backend_addrs6();
  ASSERT_EQ(all.size(), small_caps().backends);
  EXPECT_TRUE(same(all[id], in6("2001:2:2::17")));
  EXPECT_TRUE(same(all[id + 1], pw_in6{}));
  pw_nexthop6 nh{};
  ASSERT_EQ(bpf_map_lookup_elem(fds.nexthops6, &id, &nh), 0);
  EXPECT_EQ(nh.expires_ns, 0u) << "a new address must be resolved afresh";

  ASSERT_EQ(bpf_map_update_elem(fds.nexthops6, &id, &stale, BPF_ANY), 0);
  const std::uint32_t ids[] = {id};
  maps.clear_backend_addrs6(ids);
  EXPECT_TRUE(same(maps.backend_addr6(id), pw_in6{}));
  ASSERT_EQ(bpf_map_lookup_elem(fds.nexthops6, &id, &nh), 0);
  EXPECT_EQ(nh.expires_ns, 0u);
}

// Both families' tables of one set live in the one slot array, through their own
// descriptors: installing, replacing or clearing one never touches the other.
TEST_F(LbMaps6Test, Ipv6TablesShareTheSlotArrayWithoutTouchingIpv4Ones) {
  auto skel = open_and_load_lb(small_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  maps.install_backend_set(2, filled(251, 1));
  maps.install_backend_set(2, filled(251, 2), SetFamily::ipv6);
  EXPECT_EQ(maps.backend_set(2), filled(251, 1));
  EXPECT_EQ(maps.backend_set(2, SetFamily::ipv6), filled(251, 2));
  const auto d4 = maps.backend_set_descriptor(2);
  const auto d6 = maps.backend_set_descriptor(2, SetFamily::ipv6);
  EXPECT_NE(pw_set_desc_offset(d4), pw_set_desc_offset(d6));

  // Equal tables of the two families are still two tables.
  maps.install_backend_set(2, filled(251, 1), SetFamily::ipv6);
  EXPECT_NE(pw_set_desc_offset(maps.backend_set_descriptor(2, SetFamily::ipv6)),
            pw_set_desc_offset(d4));
  EXPECT_EQ(maps.backend_set_descriptor(2), d4);

  EXPECT_TRUE(maps.clear_backend_set(2, SetFamily::ipv6));
  EXPECT_FALSE(maps.clear_backend_set(2, SetFamily::ipv6));
  EXPECT_TRUE(maps.backend_set(2, SetFamily::ipv6).empty());
  EXPECT_EQ(maps.backend_set(2), filled(251, 1));

  // One batch of both families: a bad IPv6 table leaves the IPv4 one of the batch unswitched.
  const auto other = filled(251, 3);
  const auto bad = filled(251, small_caps().backends);
  const loader::BackendSetTable mixed[] = {{2, other, SetFamily::ipv4},
                                           {2, bad, SetFamily::ipv6}};
  expect_error([&] { maps.install_backend_sets(mixed); }, EINVAL, "bad IPv6 table");
  EXPECT_EQ(maps.backend_set(2), filled(251, 1));
  // The same set id in both families is not "given twice"; twice in one family is.
  const loader::BackendSetTable both[] = {{2, other, SetFamily::ipv4},
                                          {2, other, SetFamily::ipv6}};
  maps.install_backend_sets(both);
  EXPECT_EQ(maps.backend_set(2, SetFamily::ipv6), other);
  const loader::BackendSetTable twice[] = {{3, other, SetFamily::ipv6},
                                           {3, other, SetFamily::ipv6}};
  expect_error([&] { maps.install_backend_sets(twice); }, EINVAL, "set given twice");
}

// A new owner (the daemon after a restart) finds both families' tables and never writes over
// an IPv6 table's slots.
TEST_F(LbMaps6Test, ANewOwnerClaimsTheIpv6TablesToo) {
  auto skel = open_and_load_lb(small_caps());
  const auto fds = loader::lb_map_fds(*skel);
  {
    LbMaps first(fds);
    first.install_backend_set(0, filled(1021, 4), SetFamily::ipv6);
    first.install_backend_set(1, filled(1021, 5));
  }
  LbMaps second(fds);
  EXPECT_EQ(second.backend_set(0, SetFamily::ipv6), filled(1021, 4));
  for (std::uint32_t set = 2; set < small_caps().backend_sets; ++set) {
    second.install_backend_set(set, filled(1021, set));
  }
  EXPECT_EQ(second.backend_set(0, SetFamily::ipv6), filled(1021, 4))
      << "an IPv6 table's slots were handed to another table";
  EXPECT_EQ(second.backend_set(1), filled(1021, 5));
}

// Without the IPv6 maps (pins of layout 1 before the next load) IPv4 keeps working, IPv6 writes
// are refused in words and IPv6 reads are empty.
TEST_F(LbMaps6Test, WithoutTheIpv6MapsIpv4StillWorks) {
  auto skel = open_and_load_lb(small_caps());
  auto fds = loader::lb_map_fds(*skel);
  fds.frontends6 = fds.service_addrs6 = fds.node_addrs6 = fds.backend_addrs6 = fds.set_descs6 =
      fds.nexthops6 = fds.flows6 = fds.reverse6 = fds.fragments6 = -1;
  LbMaps maps(fds);
  EXPECT_FALSE(maps.has_ipv6());
  maps.install_backend_set(0, filled(251, 1));
  EXPECT_EQ(maps.backend_set(0), filled(251, 1));
  expect_error([&] { maps.install_backend_set(0, filled(251, 1), SetFamily::ipv6); }, ENOENT,
               "IPv6 table");
  expect_error([&] { maps.upsert_frontend6(pw_frontend6_key{}, pw_frontend{}); }, ENOENT,
               "IPv6 frontend");
  EXPECT_TRUE(maps.backend_set(0, SetFamily::ipv6).empty());
  EXPECT_TRUE(maps.frontends6().empty());
  EXPECT_TRUE(maps.flows6().empty());
  EXPECT_TRUE(maps.all_backend_addrs6().empty());
  EXPECT_EQ(maps.erase_flows_for_backend(1), 0u);

  // Some IPv6 maps but not all: refused (a half-upgraded pin folder).
  auto partial = loader::lb_map_fds(*skel);
  partial.fragments6 = -1;
  expect_error([&] { LbMaps m(partial); }, ENOENT, "partial IPv6 maps");
  auto swapped = loader::lb_map_fds(*skel);
  std::swap(swapped.flows6, swapped.reverse6);
  expect_error([&] { LbMaps m(swapped); }, EINVAL, "swapped IPv6 fds");
}

pw_flow6_key flow6_key(const char* client, std::uint16_t sport, const char* frontend) {
  pw_flow6_key k{};
  k.saddr = in6(client);
  k.daddr = in6(frontend);
  k.sport = htons(sport);
  k.dport = htons(80);
  k.proto = kTcp;
  return k;
}

// Flows of both families are found and erased per backend, with their reverse entries and
// each family's controller-deletes event.
TEST_F(LbMaps6Test, BackendFlowsOfBothFamiliesAreFoundAndErased) {
  auto skel = open_and_load_lb(small_caps());
  const auto fds = loader::lb_map_fds(*skel);
  LbMaps maps(fds);
  constexpr std::uint32_t kVictim = 5;
  constexpr std::uint32_t kOther = 6;
  for (std::uint16_t i = 0; i < 6; ++i) {
    const auto key = flow6_key("2001:2:9::1", static_cast<std::uint16_t>(40000 + i), "2001:2::10");
    pw_flow6 flow{};
    flow.backend_id = i < 4 ? kVictim : kOther;
    flow.backend_addr = in6(i < 4 ? "2001:2:2::5" : "2001:2:2::6");
    flow.target_port = htons(8080);
    pw_reverse6 rev{};
    rev.frontend_addr = key.daddr;
    rev.frontend_port = key.dport;
    const auto rkey = loader::reverse_key_of(key, flow);
    ASSERT_EQ(bpf_map_update_elem(fds.flows6, &key, &flow, BPF_ANY), 0);
    ASSERT_EQ(bpf_map_update_elem(fds.reverse6, &rkey, &rev, BPF_ANY), 0);
  }
  pw_flow_key k4{};
  k4.saddr = htonl(0xc6120901);  // 198.18.9.1
  k4.daddr = htonl(0xc6120a01);
  k4.sport = htons(40000);
  k4.dport = htons(80);
  k4.proto = kTcp;
  pw_flow f4{};
  f4.backend_id = kVictim;
  f4.backend_addr = htonl(0xc6120205);
  f4.target_port = htons(8080);
  const std::pair<pw_flow_key, pw_flow> v4[] = {{k4, f4}};
  maps.upsert_flows(v4);

  ASSERT_EQ(maps.flows6().size(), 6u);
  EXPECT_EQ(maps.reverse6_count(), 6u);
  EXPECT_EQ(maps.count_flows_for_backend(kVictim), 5u) << "4 IPv6 flows and 1 IPv4 flow";
  const auto some = maps.flows6().front();
  EXPECT_TRUE(maps.flow6(some.first).has_value());
  EXPECT_TRUE(maps.reverse6(loader::reverse_key_of(some.first, some.second)).has_value());

  EXPECT_EQ(maps.erase_flows_for_backend(kVictim), 5u);
  EXPECT_EQ(maps.count_flows_for_backend(kVictim), 0u);
  EXPECT_EQ(maps.flows6().size(), 2u);
  EXPECT_EQ(maps.reverse6_count(), 2u);
  EXPECT_TRUE(maps.flows().empty());
  const auto events = maps.all_events();
  EXPECT_EQ(events[PW_EV_FLOW6_CONTROLLER_DELETES], 4u);
  EXPECT_EQ(events[PW_EV_FLOW_CONTROLLER_DELETES], 1u);
  const auto fill = maps.flow6_fill();
  EXPECT_EQ(fill.entries, 2u);
  EXPECT_EQ(fill.deleted, 4u);

  pw_fragment6_key fk{};
  fk.saddr = in6("2001:2:9::1");
  fk.id = htonl(77);
  const pw_fragment6 frag{};
  ASSERT_EQ(bpf_map_update_elem(fds.fragments6, &fk, &frag, BPF_ANY), 0);
  EXPECT_EQ(maps.fragment6_count(), 1u);
  maps.clear_conntrack();
  EXPECT_TRUE(maps.flows6().empty());
  EXPECT_EQ(maps.reverse6_count(), 0u);
  EXPECT_EQ(maps.fragment6_count(), 0u);
}

}  // namespace
}  // namespace portway::test::lb
