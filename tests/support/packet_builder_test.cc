#include "support/packet_builder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <stdexcept>
#include <vector>

#include "support/checksum.h"

namespace portway::test {
namespace {

std::span<const std::uint8_t> ip_header(const std::vector<std::uint8_t>& frame) {
  return std::span<const std::uint8_t>{frame}.subspan(kEthHeaderLen, kIpv4HeaderLen);
}

std::span<const std::uint8_t> l4_segment(const std::vector<std::uint8_t>& frame) {
  return std::span<const std::uint8_t>{frame}.subspan(kEthHeaderLen + kIpv4HeaderLen);
}

TEST(PacketBuilder, UdpFrameMatchesHandBuiltBytes) {
  const auto frame = PacketBuilder{}.src_port(1234).dst_port(53).payload("hi").udp();
  // IPv4 checksum by hand: 4500+001e+0000+4000+4011+c612+0001+c613+0001 = 0x25156
  // -> fold 0x5158 -> complement 0xaea7. UDP checksum: see checksum_test.cc.
  const std::vector<std::uint8_t> expected{
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // dst MAC
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // src MAC
      0x08, 0x00,                          // IPv4
      0x45, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xae, 0xa7,
      0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x01,  // 198.18.0.1 -> 198.19.0.1
      0x04, 0xd2, 0x00, 0x35, 0x00, 0x0a, 0x06, 0x42,  // UDP 1234 -> 53, len 10
      0x68, 0x69};
  EXPECT_EQ(frame, expected);
}

TEST(PacketBuilder, UdpComputedZeroChecksumIsSentAsAllOnes) {
  // Payload 0x6eab makes the one's complement sum 0xffff for this header (see the vector
  // above), so the computed checksum is 0, which UDP must transmit as 0xffff.
  const std::vector<std::uint8_t> payload{0x6e, 0xab};
  const auto frame = PacketBuilder{}.src_port(1234).dst_port(53).payload(payload).udp();
  ASSERT_EQ(frame.size(), kEthHeaderLen + kIpv4HeaderLen + kUdpHeaderLen + 2);
  EXPECT_EQ(frame[40], 0xff);
  EXPECT_EQ(frame[41], 0xff);
}

TEST(PacketBuilder, TcpFrameChecksumsVerify) {
  const auto frame = PacketBuilder{}
                         .src_ip(ipv4("198.18.7.9"))
                         .dst_ip(ipv4("198.19.200.1"))
                         .src_port(51000)
                         .dst_port(6667)
                         .tcp_flags(tcp_flags::kPsh | tcp_flags::kAck)
                         .tcp_seq(0x01020304)
                         .tcp_ack(0x0a0b0c0d)
                         .payload("NICK portway\r\n")
                         .tcp();
  ASSERT_EQ(frame.size(), kEthHeaderLen + kIpv4HeaderLen + kTcpHeaderLen + 14);
  EXPECT_EQ(internet_checksum(ip_header(frame)), 0);
  // A correct L4 checksum makes the sum over pseudo-header and segment complement to zero.
  EXPECT_EQ(ipv4_l4_checksum(ipv4("198.18.7.9"), ipv4("198.19.200.1"), kIpProtoTcp,
                             l4_segment(frame)),
            0);
  const auto tcp = l4_segment(frame);
  EXPECT_EQ(tcp[12], 0x50);  // data offset 5 words
  EXPECT_EQ(tcp[13], tcp_flags::kPsh | tcp_flags::kAck);
  EXPECT_EQ(tcp[4], 0x01);
  EXPECT_EQ(tcp[7], 0x04);
  EXPECT_EQ(tcp[8], 0x0a);
  EXPECT_EQ(tcp[11], 0x0d);
}

TEST(PacketBuilder, IpFieldsAreSettable) {
  const auto frame =
      PacketBuilder{}.ttl(1).tos(0xb8).ip_id(0xbeef).dont_fragment(false).payload("x").udp();
  const auto ip = ip_header(frame);
  EXPECT_EQ(ip[1], 0xb8);
  EXPECT_EQ(ip[4], 0xbe);
  EXPECT_EQ(ip[5], 0xef);
  EXPECT_EQ(ip[6], 0x00);  // no DF
  EXPECT_EQ(ip[8], 1);
  EXPECT_EQ(internet_checksum(ip), 0);
  EXPECT_EQ(ipv4_l4_checksum(kClientIp, kNodeIp, kIpProtoUdp, l4_segment(frame)), 0);
}

TEST(PacketBuilder, MacsAndNonIpFrames) {
  const MacAddress a{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  const auto frame = PacketBuilder{}.src_mac(a).dst_mac(kClientMac).payload("arp?").ethernet(
      kEtherTypeArp);
  ASSERT_EQ(frame.size(), kEthHeaderLen + 4);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), frame.begin() + 6));
  EXPECT_TRUE(std::equal(kClientMac.begin(), kClientMac.end(), frame.begin()));
  EXPECT_EQ(frame[12], 0x08);
  EXPECT_EQ(frame[13], 0x06);
}

TEST(PacketBuilder, RejectsOversizePayload) {
  const std::vector<std::uint8_t> big(65535 - kIpv4HeaderLen - kUdpHeaderLen + 1, 0);
  EXPECT_THROW((void)PacketBuilder{}.payload(big).udp(), std::length_error);
  const std::vector<std::uint8_t> fits(65535 - kIpv4HeaderLen - kUdpHeaderLen, 0);
  EXPECT_EQ(PacketBuilder{}.payload(fits).udp().size(), kEthHeaderLen + 65535);
}

TEST(PacketBuilder, IpOptionsSetIhlAndAreCoveredByTheChecksum) {
  const std::vector<std::uint8_t> opts{0x01, 0x01, 0x01, 0x00};
  const auto frame = PacketBuilder{}.ip_options(opts).payload("x").udp();
  ASSERT_EQ(frame.size(), kEthHeaderLen + 24 + kUdpHeaderLen + 1);
  EXPECT_EQ(frame[14], 0x46);
  EXPECT_EQ(frame[17], 24 + 8 + 1);  // total length includes the options
  EXPECT_TRUE(std::equal(opts.begin(), opts.end(), frame.begin() + 34));
  EXPECT_EQ(internet_checksum(std::span<const std::uint8_t>{frame}.subspan(14, 24)), 0);
  EXPECT_EQ(ipv4_l4_checksum(kClientIp, kNodeIp, kIpProtoUdp,
                             std::span<const std::uint8_t>{frame}.subspan(38)),
            0);
  EXPECT_THROW((void)PacketBuilder{}.ip_options(std::vector<std::uint8_t>(3, 1)),
               std::invalid_argument);
  EXPECT_THROW((void)PacketBuilder{}.ip_options(std::vector<std::uint8_t>(44, 1)),
               std::invalid_argument);
}

TEST(PacketBuilder, FragmentFieldsAndVlanTag) {
  const auto frag = PacketBuilder{}.dont_fragment(false).fragment(6, true).udp();
  EXPECT_EQ(frag[20], 0x20);  // MF, offset high bits 0
  EXPECT_EQ(frag[21], 6);
  EXPECT_EQ(internet_checksum(ip_header(frag)), 0);
  const auto tagged = PacketBuilder{}.vlan(0x0123).tcp();
  ASSERT_EQ(tagged.size(), kEthHeaderLen + 4 + kIpv4HeaderLen + kTcpHeaderLen);
  EXPECT_EQ(tagged[12], 0x81);
  EXPECT_EQ(tagged[13], 0x00);
  EXPECT_EQ(tagged[14], 0x01);
  EXPECT_EQ(tagged[15], 0x23);
  EXPECT_EQ(tagged[16], 0x08);
  EXPECT_EQ(tagged[17], 0x00);
  EXPECT_EQ(PacketBuilder{}.vlan(1, kEtherTypeQinQ).tcp()[12], 0x88);
}

TEST(PacketBuilder, TcpOptionsUdpWithoutChecksumAndIcmp) {
  const std::vector<std::uint8_t> mss{0x02, 0x04, 0x05, 0xb4};
  const auto syn = PacketBuilder{}.tcp_options(mss).tcp();
  EXPECT_EQ(syn[kEthHeaderLen + kIpv4HeaderLen + 12], 0x60);  // doff 6
  EXPECT_EQ(ipv4_l4_checksum(kClientIp, kNodeIp, kIpProtoTcp, l4_segment(syn)), 0);

  const auto udp = PacketBuilder{}.udp_checksum(false).payload("abc").udp();
  EXPECT_EQ(udp[40], 0);
  EXPECT_EQ(udp[41], 0);

  const std::vector<std::uint8_t> quote(28, 0x45);
  const auto icmp = PacketBuilder{}.payload(quote).icmp(3, 4, 1400);
  const auto msg = l4_segment(icmp);
  ASSERT_EQ(msg.size(), 8 + quote.size());
  EXPECT_EQ(icmp[23], kIpProtoIcmp);
  EXPECT_EQ(msg[0], 3);
  EXPECT_EQ(msg[1], 4);
  EXPECT_EQ(msg[6], 0x05);  // next-hop MTU 1400 in the last two header bytes
  EXPECT_EQ(msg[7], 0x78);
  EXPECT_EQ(internet_checksum(msg), 0);

  const auto gre = PacketBuilder{}.payload("gre!").ip(47);
  EXPECT_EQ(gre[23], 47);
  EXPECT_EQ(gre.size(), kEthHeaderLen + kIpv4HeaderLen + 4);
}

TEST(PacketTypes, ParsesAndClassifiesAddresses) {
  EXPECT_EQ(ipv4("198.19.255.254"), (Ipv4Address{198, 19, 255, 254}));
  EXPECT_THROW((void)ipv4("198.18.0"), std::invalid_argument);
  EXPECT_THROW((void)ipv4("198.18.0.256"), std::invalid_argument);
  EXPECT_TRUE(is_benchmark_range(ipv4("198.18.0.0")));
  EXPECT_TRUE(is_benchmark_range(ipv4("198.19.255.255")));
  EXPECT_FALSE(is_benchmark_range(ipv4("198.20.0.1")));
  EXPECT_FALSE(is_benchmark_range(ipv4("198.17.255.255")));
  EXPECT_TRUE(is_benchmark_range(kClientIp));
  EXPECT_TRUE(is_benchmark_range(kNodeIp));
}

}  // namespace
}  // namespace portway::test
