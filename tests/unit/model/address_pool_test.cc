// The usable part of a service address pool and the preferred address of a Service id.
#include <gtest/gtest.h>

#include <set>

#include "model/address_pool.h"
#include "model/errors.h"
#include "model_support/fixtures.h"

namespace portway::model {
namespace {

using testing::ip4;
using testing::ip6;
using testing::v4;
using testing::v6;

TEST(Ipv4Pool, NeverTheNetworkOrBroadcastAddress) {
  struct Case {
    const char* cidr;
    std::uint64_t usable;
    const char* first;
    const char* last;
  } cases[] = {
      {"198.18.0.0/30", 2, "198.18.0.1", "198.18.0.2"},
      {"198.18.0.0/29", 6, "198.18.0.1", "198.18.0.6"},
      {"198.18.0.0/15", 131070, "198.18.0.1", "198.19.255.254"},
      {"0.0.0.0/0", 4294967294u, "0.0.0.1", "255.255.255.254"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cidr);
    const Ipv4Pool pool(v4(c.cidr));
    EXPECT_EQ(pool.usable(), c.usable);
    EXPECT_EQ(pool.address(pool.first()), ip4(c.first));
    EXPECT_EQ(pool.address(pool.last()), ip4(c.last));
    const auto prefix = v4(c.cidr);
    EXPECT_FALSE(pool.offset_of(prefix.network)) << "network address";
    EXPECT_FALSE(pool.offset_of(net::Ipv4{prefix.network.value + static_cast<std::uint32_t>(prefix.size() - 1)}))
        << "broadcast address";
  }
}

TEST(Ipv4Pool, OffsetOfRejectsAddressesOutsideThePrefix) {
  const Ipv4Pool pool(v4("198.18.0.0/24"));
  EXPECT_EQ(pool.offset_of(ip4("198.18.0.7")), 7u);
  EXPECT_FALSE(pool.offset_of(ip4("198.18.1.7")));
  EXPECT_FALSE(pool.offset_of(ip4("10.10.0.7")));
}

TEST(Ipv4Pool, TooSmallPrefixesHoldNothing) {
  EXPECT_THROW(Ipv4Pool(v4("198.18.0.0/31")), AllocationError);
  EXPECT_THROW(Ipv4Pool(v4("198.18.0.1/32")), AllocationError);
}

TEST(Ipv6Pool, SkipsOffsetZeroAndCapsTheHostSpace) {
  const Ipv6Pool small(v6("2001:2::/126"));
  EXPECT_EQ(small.usable(), 3u);
  EXPECT_EQ(small.address(1), ip6("2001:2::1"));
  EXPECT_EQ(small.address(3), ip6("2001:2::3"));
  EXPECT_FALSE(small.offset_of(ip6("2001:2::")));

  const Ipv6Pool big(v6("2001:2::/48"));
  EXPECT_EQ(big.usable(), 0xFFFFFFFFu);
  EXPECT_EQ(big.address(big.last()), ip6("2001:2::ffff:ffff"));
  EXPECT_EQ(big.offset_of(ip6("2001:2::a:b")), 0xA000Bu);
  EXPECT_FALSE(big.offset_of(ip6("2001:2::1:0:0"))) << "above the 32-bit cap";
  EXPECT_FALSE(big.offset_of(ip6("2001:3::1"))) << "outside the prefix";

  const Ipv6Pool mid(v6("2001:2::ab00/120"));
  EXPECT_EQ(mid.usable(), 255u);
  EXPECT_EQ(mid.address(0x22), ip6("2001:2::ab22"));
  EXPECT_EQ(mid.offset_of(ip6("2001:2::abff")), 255u);

  EXPECT_THROW(Ipv6Pool(v6("2001:2::/127")), AllocationError);
}

// Golden values: these must never change (a changed hash moves every future Service's
// preferred address). If this test fails, the hash, its key or the pool arithmetic changed.
TEST(PreferredAddress, IsStableAcrossBuildsAndPlatforms) {
  EXPECT_EQ(service_address_hash("svc/irc/irc"), 0xb422fdb6908021e7u);
  const Ipv4Pool pool(v4("198.18.0.0/15"));
  EXPECT_EQ(net::to_string(pool.address(pool.preferred("svc/irc/irc"))), "198.18.100.66");
  const Ipv6Pool pool6(v6("2001:2::/48"));
  EXPECT_EQ(net::to_string(pool6.address(pool6.preferred("svc/irc/irc"))), "2001:2::44a3:1f9f");
}

TEST(PreferredAddress, SpreadsIdsOverThePool) {
  const Ipv4Pool pool(v4("198.18.0.0/15"));
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(pool.preferred("svc/app" + std::to_string(i) + "/web"));
  EXPECT_GT(seen.size(), 990u) << "1000 ids in 131070 slots should rarely collide";
  for (const auto o : seen) {
    EXPECT_GE(o, pool.first());
    EXPECT_LE(o, pool.last());
  }
}

}  // namespace
}  // namespace portway::model
