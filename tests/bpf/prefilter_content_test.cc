// What the controller writes into pw_prefilter for a node (controller/dataplane/xdp/prefilter.h):
// the service ranges and node addresses of both families, frontends outside them, and no ON flag
// for a family that does not fit. Needs no privileges.
#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "dataplane/xdp/prefilter.h"

namespace portway::dataplane::xdp {
namespace {

net::Ipv4 v4(const char* s) { return *net::parse_ipv4(s); }
net::Ipv6 v6(const char* s) { return *net::parse_ipv6(s); }

PrefilterInput node() {
  PrefilterInput in{*net::parse_ipv4_prefix("198.19.0.0/16"), net::Ipv6Prefix{v6("2001:2:0:1::"), 64},
                    {v4("198.18.0.1"), v4("198.18.0.2")}, {v6("2001:2::1")}};
  return in;
}

state::DataplaneState with_frontends(const std::vector<net::IpAddress>& addrs) {
  std::vector<state::Frontend> fes;
  std::uint16_t port = 80;
  for (const auto& a : addrs) {
    state::Frontend f{};
    f.key = {a, port++, config::Protocol::tcp};
    f.backend_set = "s";
    f.target_port = 8080;
    fes.push_back(f);
  }
  state::BackendSet set{};
  set.id = "s";
  return state::DataplaneState::from_parts(std::move(fes), {}, {set});
}

TEST(PrefilterContent, ServiceRangesAndNodeAddressesOfBothFamilies) {
  const pw_prefilter pf = build_prefilter(node(), {});
  EXPECT_EQ(pf.flags, PW_PREFILTER_ON4 | PW_PREFILTER_ON6);
  ASSERT_EQ(pf.count4, 3);
  EXPECT_EQ(pf.v4[0].addr, htonl(0xC6130000u));
  EXPECT_EQ(pf.v4[0].mask, htonl(0xFFFF0000u));
  EXPECT_EQ(pf.v4[1].addr, htonl(0xC6120001u));
  EXPECT_EQ(pf.v4[1].mask, 0xFFFFFFFFu);
  ASSERT_EQ(pf.count6, 2);
  for (const char* in : {"198.19.255.1", "198.19.0.0", "198.18.0.1", "198.18.0.2"})
    EXPECT_TRUE(prefilter_admits(pf, v4(in))) << in;
  for (const char* out : {"198.18.0.3", "198.20.0.1", "10.0.0.1"})
    EXPECT_FALSE(prefilter_admits(pf, v4(out))) << out;
  for (const char* in : {"2001:2:0:1::5", "2001:2:0:1:ffff::1", "2001:2::1"})
    EXPECT_TRUE(prefilter_admits(pf, v6(in))) << in;
  for (const char* out : {"2001:2:0:2::5", "2001:2::2", "fe80::1"})
    EXPECT_FALSE(prefilter_admits(pf, v6(out))) << out;
}

TEST(PrefilterContent, AddressesInsideAPrefixAddNothingAndHostBitsAreCleared) {
  PrefilterInput in = node();
  in.service_cidr = *net::parse_ipv4_prefix("198.19.0.0/16");
  in.service_cidr.network = v4("198.19.7.9");  // host bits set
  in.node_v4.push_back(v4("198.19.3.3"));      // inside the service range
  const pw_prefilter pf = build_prefilter(in, with_frontends({v4("198.19.1.1")}));
  ASSERT_EQ(pf.count4, 3);
  EXPECT_EQ(pf.v4[0].addr, htonl(0xC6130000u));
}

TEST(PrefilterContent, FrontendsOutsideTheRangesAreAdded) {
  const pw_prefilter pf = build_prefilter(node(), with_frontends({v4("203.0.113.7"), v6("2001:2:0:9::1")}));
  EXPECT_TRUE(prefilter_admits(pf, v4("203.0.113.7")));
  EXPECT_FALSE(prefilter_admits(pf, v4("203.0.113.8")));
  EXPECT_TRUE(prefilter_admits(pf, v6("2001:2:0:9::1")));
}

TEST(PrefilterContent, AFamilyThatDoesNotFitIsLeftUnfiltered) {
  PrefilterInput in = node();
  in.node_v4.clear();
  for (int i = 0; i < 8; ++i) in.node_v4.push_back(net::Ipv4{0xC6120100u + static_cast<std::uint32_t>(i)});
  const pw_prefilter pf = build_prefilter(in, {});
  EXPECT_EQ(pf.flags, PW_PREFILTER_ON6);
  EXPECT_EQ(pf.count4, 0);
  EXPECT_TRUE(prefilter_admits(pf, v4("10.1.2.3")));  // no ON4: everything goes on
  in.node_v4.pop_back();                              // 1 range + 7 addresses: fits exactly
  EXPECT_EQ(build_prefilter(in, {}).flags, PW_PREFILTER_ON4 | PW_PREFILTER_ON6);
}

TEST(PrefilterContent, NoIpv6RangeStillFiltersIpv6ToTheNodeAddresses) {
  PrefilterInput in = node();
  in.service_cidr6.reset();
  const pw_prefilter pf = build_prefilter(in, {});
  EXPECT_EQ(pf.count6, 1);
  EXPECT_TRUE(prefilter_admits(pf, v6("2001:2::1")));
  EXPECT_FALSE(prefilter_admits(pf, v6("2001:2:0:1::5")));
}

}  // namespace
}  // namespace portway::dataplane::xdp
