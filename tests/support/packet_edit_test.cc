#include "support/packet_edit.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/packet_builder.h"

namespace portway::test {
namespace {

TEST(PacketEdit, ChecksumProblemFindsEveryBrokenChecksum) {
  const auto udp = PacketBuilder{}.payload("hello").udp();
  EXPECT_FALSE(checksum_problem(udp));
  auto broken_ip = udp;
  broken_ip[22] ^= 1;  // TTL: covered by the IPv4 header checksum only
  EXPECT_TRUE(checksum_problem(broken_ip));
  auto broken_udp = udp;
  broken_udp.back() ^= 1;
  ASSERT_TRUE(checksum_problem(broken_udp));
  EXPECT_NE(checksum_problem(broken_udp)->find("UDP"), std::string::npos);
  auto no_udp_sum = PacketBuilder{}.udp_checksum(false).payload("x").udp();
  EXPECT_FALSE(checksum_problem(no_udp_sum));

  auto tcp = PacketBuilder{}.payload("data").tcp();
  tcp[kL3Offset + 20 + 4] ^= 0x80;  // sequence number
  EXPECT_TRUE(checksum_problem(tcp));

  const auto quoted = PacketBuilder{}.tcp();
  auto quote = std::vector<std::uint8_t>(quoted.begin() + 14, quoted.begin() + 42);
  EXPECT_FALSE(checksum_problem(PacketBuilder{}.payload(quote).icmp(3, 3)));
  quote[8] ^= 1;  // quoted TTL, ICMP checksum recomputed over it by the builder
  EXPECT_TRUE(checksum_problem(PacketBuilder{}.payload(quote).icmp(3, 3)));
  EXPECT_FALSE(checksum_problem(PacketBuilder{}.payload(quote).icmp(3, 3), false));

  EXPECT_FALSE(checksum_problem(PacketBuilder{}.ethernet(kEtherTypeArp)));
  auto bad_len = udp;
  put_be16(bad_len, kL3Offset + 2, 500);
  fix_ipv4_checksum(bad_len);
  EXPECT_TRUE(checksum_problem(bad_len));
}

TEST(PacketEdit, FixChecksumsRepairsEditedHeaders) {
  auto tcp = PacketBuilder{}.payload("data").tcp();
  tcp[kL3Offset + 20 + 1] ^= 0x55;  // destination port
  tcp[kL3Offset + 8] = 3;           // TTL
  ASSERT_TRUE(checksum_problem(tcp));
  fix_checksums(tcp);
  EXPECT_FALSE(checksum_problem(tcp));
  auto udp0 = PacketBuilder{}.udp_checksum(false).payload("x").udp();
  udp0[kL3Offset + 20] ^= 1;
  fix_checksums(udp0);
  EXPECT_EQ(get_be16(udp0, kL3Offset + 26), 0) << "a zero UDP checksum stays zero";
}

TEST(PacketEdit, FragmentsReassembleToTheDatagram) {
  const auto whole = PacketBuilder{}.dont_fragment(false).ip_id(0x1234)
                         .payload(std::vector<std::uint8_t>(100, 0xab)).udp();
  const auto first = ipv4_fragment(whole, 0, 48, true);
  const auto last = ipv4_fragment(whole, 48, 60, false);
  EXPECT_EQ(get_be16(first, kL3Offset + 2), 20 + 48);
  EXPECT_EQ(get_be16(first, kL3Offset + 6), 0x2000);
  EXPECT_EQ(get_be16(last, kL3Offset + 6), 48 / 8);
  EXPECT_EQ(get_be16(last, kL3Offset + 4), 0x1234);
  EXPECT_FALSE(checksum_problem(first));
  EXPECT_FALSE(checksum_problem(last));
  std::vector<std::uint8_t> joined(first.begin() + 34, first.end());
  joined.insert(joined.end(), last.begin() + 34, last.end());
  EXPECT_EQ(joined, std::vector<std::uint8_t>(whole.begin() + 34, whole.end()));
  EXPECT_THROW((void)ipv4_fragment(whole, 4, 8, true), std::invalid_argument);
  EXPECT_THROW((void)ipv4_fragment(whole, 0, 200, true), std::invalid_argument);
}

}  // namespace
}  // namespace portway::test
