// Service ranges against the live node (docs/model.md "Service ranges and the node").
#include "model/service_ranges.h"

#include <gtest/gtest.h>

#include "model_support/fixtures.h"

namespace portway::model {
namespace {

using testing::ip4;
using testing::ip6;
using testing::v4;
using testing::v6;

net::NodeAddressing node() {
  net::NodeAddressing n;
  n.addresses = {{"lo", ip4("127.0.0.1")},
                 {"lo", ip6("::1")},
                 {"up0", ip4("198.18.1.10")},
                 {"up0", ip6("2001:2:0:1::10")},
                 {"docker0", ip4("198.19.200.1")}};
  n.uplink_prefixes = {{"up0", v4("198.18.1.0/24")},
                       {"up0", v4("198.18.9.1/32")},  // a gateway
                       {"up0", v6("2001:2:0:1::/64")}};
  return n;
}

TEST(PrefixOverlap, ShorterContainsLongerOrNothing) {
  EXPECT_TRUE(overlaps(v4("198.18.0.0/16"), v4("198.18.1.0/24")));
  EXPECT_TRUE(overlaps(v4("198.18.1.0/24"), v4("198.18.0.0/16")));
  EXPECT_TRUE(overlaps(v4("198.18.1.0/24"), v4("198.18.1.0/24")));
  EXPECT_FALSE(overlaps(v4("198.18.0.0/24"), v4("198.18.1.0/24")));
  EXPECT_TRUE(overlaps(v4("0.0.0.0/0"), v4("198.18.1.0/24")));
  EXPECT_TRUE(overlaps(v6("2001:2::/48"), v6("2001:2:0:1::/64")));
  EXPECT_FALSE(overlaps(v6("2001:2:1::/48"), v6("2001:2:0:1::/64")));
  EXPECT_FALSE(overlaps(v4("0.0.0.0/0"), v6("::/0"))) << "families never overlap";
}

TEST(ServiceRanges, ClearOfTheNodeIsFine) {
  EXPECT_TRUE(service_range_overlaps(v4("198.18.128.0/20"), v6("2001:2:0:2::/64"), node()).empty());
  EXPECT_TRUE(service_range_overlaps(v4("10.10.0.0/16"), std::nullopt, node()).empty());
}

TEST(ServiceRanges, AnAddressOfAnyInterfaceIsRefused) {
  const auto out = service_range_overlaps(v4("198.19.200.0/24"), std::nullopt, node());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "service_cidr 198.19.200.0/24 contains 198.19.200.1, an address of docker0: a "
                    "Service given it would take the node's own traffic (SSH included); choose a "
                    "service_cidr that no interface of the node uses");
  EXPECT_EQ(service_range_overlaps(v4("127.0.0.0/30"), std::nullopt, node()).size(), 1u);
}

TEST(ServiceRanges, TheUplinksNetworkIsRefusedEvenWithoutTheNodesAddress) {
  // 198.18.1.128/25 holds no node address but neighbours on up0's /24.
  const auto out = service_range_overlaps(v4("198.18.1.128/25"), std::nullopt, node());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "service_cidr 198.18.1.128/25 overlaps 198.18.1.0/24, the network of uplink up0 "
                    "(its neighbours' addresses); choose a service_cidr outside the uplinks' networks");
}

TEST(ServiceRanges, ARouteOfTheRangeItselfOutOfTheUplinkIsNoNeighbourNetwork) {
  // A node without a default route reaches its service addresses through a route of the range
  // (the lab does this): neither that route nor one for part of the range is refused.
  net::NodeAddressing n = node();
  n.uplink_prefixes.push_back({"up0", v4("198.19.0.0/24")});
  n.uplink_prefixes.push_back({"up0", v4("198.19.1.0/25")});
  EXPECT_TRUE(service_range_overlaps(v4("198.19.0.0/24"), std::nullopt, n).empty());
  EXPECT_TRUE(service_range_overlaps(v4("198.19.0.0/23"), std::nullopt, n).empty());
  // A route wider than the range still puts it among neighbours.
  EXPECT_EQ(service_range_overlaps(v4("198.19.0.0/26"), std::nullopt, n).size(), 1u);
}

TEST(ServiceRanges, AGatewayOfAnUplinkIsRefused) {
  const auto out = service_range_overlaps(v4("198.18.9.0/30"), std::nullopt, node());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("contains 198.18.9.1, a gateway reached through uplink up0"), std::string::npos) << out[0];
}

TEST(ServiceRanges, EveryOverlapOfBothFamiliesIsListed) {
  const auto out = service_range_overlaps(v4("198.18.0.0/15"), v6("2001:2::/48"), node());
  // v4: up0's and docker0's addresses, up0's network and gateway; v6: up0's address and network.
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].substr(0, 40), "service_cidr 198.18.0.0/15 contains 198.");
  EXPECT_EQ(out[5].substr(0, 47), "service_cidr6 2001:2::/48 overlaps 2001:2:0:1::");
}

}  // namespace
}  // namespace portway::model
