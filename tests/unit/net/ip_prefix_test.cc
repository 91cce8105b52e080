#include <gtest/gtest.h>

#include "net/ip_prefix.h"

namespace portway::net {
namespace {

TEST(IpPrefix, ParsesAndPrintsIpv4) {
  auto a = parse_ipv4("198.18.0.1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 0xC6120001u);
  EXPECT_EQ(to_string(*a), "198.18.0.1");
  EXPECT_FALSE(parse_ipv4("198.18.0"));
  EXPECT_FALSE(parse_ipv4("198.18.0.256"));
  EXPECT_FALSE(parse_ipv4(std::string(100, '1')));
  EXPECT_FALSE(parse_ipv4(""));
}

TEST(IpPrefix, Ipv4PrefixRules) {
  auto p = parse_ipv4_prefix("198.18.0.0/15");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size(), 131072u);
  EXPECT_TRUE(p->contains(*parse_ipv4("198.19.255.255")));
  EXPECT_FALSE(p->contains(*parse_ipv4("198.20.0.0")));
  EXPECT_TRUE(parse_ipv4_prefix("0.0.0.0/0"));
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.0/33"));
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.0/"));
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.0/1x"));
  std::string why;
  EXPECT_FALSE(parse_ipv4_prefix("198.18.0.1/15", &why));
  EXPECT_EQ(why, "host bits are set (did you mean 198.18.0.0/15?)");
}

TEST(IpPrefix, Ipv6PrefixRules) {
  auto p = parse_ipv6_prefix("2001:2::/48");
  ASSERT_TRUE(p);
  EXPECT_EQ(to_string(*p), "2001:2::/48");
  EXPECT_TRUE(p->contains(*parse_ipv6("2001:2:0:ffff::1")));
  EXPECT_FALSE(p->contains(*parse_ipv6("2001:3::1")));
  EXPECT_FALSE(parse_ipv6_prefix("2001:2::1/48"));
  EXPECT_FALSE(parse_ipv6_prefix("2001:2::/129"));
  auto odd = parse_ipv6_prefix("2001:2::/47");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(*parse_ipv6("2001:2:1::1"))) << "a /47 spans 2001:2:0:: and 2001:2:1::";
  EXPECT_FALSE(odd->contains(*parse_ipv6("2001:2:2::1")));
}

}  // namespace
}  // namespace portway::net
