#include "support/checksum.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace portway::test {
namespace {

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: these bytes sum to 0xddf2, so the checksum is its complement.
  const std::array<std::uint8_t, 8> bytes{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum_add(bytes), 0xddf2u);
  EXPECT_EQ(internet_checksum(bytes), 0x220d);
}

TEST(Checksum, KnownIpv4Header) {
  // A widely used worked example: 192.168.0.1 -> 192.168.0.199, UDP, total length 115.
  std::array<std::uint8_t, 20> header{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
                                      0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
                                      0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(internet_checksum(header), 0xb861);
  // With the checksum in place the header verifies: the sum over it complements to zero.
  header[10] = 0xb8;
  header[11] = 0x61;
  EXPECT_EQ(internet_checksum(header), 0);
}

TEST(Checksum, OddLengthPadsWithZero) {
  const std::array<std::uint8_t, 1> one{0xab};
  EXPECT_EQ(internet_checksum(one), 0x54ff);  // ~0xab00
  const std::array<std::uint8_t, 3> three{0x12, 0x34, 0xab};
  EXPECT_EQ(internet_checksum(three), static_cast<std::uint16_t>(~(0x1234 + 0xab00)));
}

TEST(Checksum, FoldsCarriesOfLongBuffers) {
  // 70000 words of 0xffff: every partial sum carries; the folded sum stays 0xffff.
  const std::vector<std::uint8_t> ones(140000, 0xff);
  EXPECT_EQ(internet_checksum(ones), 0);
}

TEST(Checksum, UdpPseudoHeaderHandComputed) {
  // 198.18.0.1:1234 -> 198.19.0.1:53, payload "hi", worked by hand:
  // pseudo c612+0001+c613+0001+0011+000a, UDP 04d2+0035+000a+0000, data 6869
  // = 0x1f9bc -> fold 0xf9bd -> complement 0x0642.
  const std::array<std::uint8_t, 10> segment{0x04, 0xd2, 0x00, 0x35, 0x00,
                                             0x0a, 0x00, 0x00, 0x68, 0x69};
  EXPECT_EQ(ipv4_l4_checksum(kClientIp, kNodeIp, 17, segment), 0x0642);
  // Swapping the addresses must not change a sum over both of them, but a different
  // protocol number must.
  EXPECT_EQ(ipv4_l4_checksum(kNodeIp, kClientIp, 17, segment), 0x0642);
  EXPECT_NE(ipv4_l4_checksum(kClientIp, kNodeIp, 6, segment), 0x0642);
}

}  // namespace
}  // namespace portway::test
