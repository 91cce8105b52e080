// Builds Ethernet/IPv4/UDP/TCP frames for fixtures, with correct IPv4 and L4 checksums.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "support/packet_types.h"

namespace portway::test {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;

inline constexpr std::size_t kEthHeaderLen = 14;
inline constexpr std::size_t kIpv4HeaderLen = 20;  // no options
inline constexpr std::size_t kUdpHeaderLen = 8;
inline constexpr std::size_t kTcpHeaderLen = 20;  // no options

namespace tcp_flags {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
inline constexpr std::uint8_t kUrg = 0x20;
}  // namespace tcp_flags

// Value type: set what the fixture cares about, then build one or more frames. Defaults are a
// client (198.18.0.1:40000) talking to a node address (198.19.0.1:7000), TTL 64, DF set,
// empty payload, TCP flags SYN.
class PacketBuilder {
 public:
  PacketBuilder& src_mac(const MacAddress& mac) { src_mac_ = mac; return *this; }
  PacketBuilder& dst_mac(const MacAddress& mac) { dst_mac_ = mac; return *this; }
  PacketBuilder& src_ip(const Ipv4Address& ip) { src_ip_ = ip; return *this; }
  PacketBuilder& dst_ip(const Ipv4Address& ip) { dst_ip_ = ip; return *this; }
  PacketBuilder& src_port(std::uint16_t port) { src_port_ = port; return *this; }
  PacketBuilder& dst_port(std::uint16_t port) { dst_port_ = port; return *this; }
  PacketBuilder& ttl(std::uint8_t ttl) { ttl_ = ttl; return *this; }
  PacketBuilder& tos(std::uint8_t tos) { tos_ = tos; return *this; }
  PacketBuilder& ip_id(std::uint16_t id) { ip_id_ = id; return *this; }
  PacketBuilder& dont_fragment(bool df) { dont_fragment_ = df; return *this; }
  PacketBuilder& tcp_flags(std::uint8_t flags) { tcp_flags_ = flags; return *this; }
  PacketBuilder& tcp_seq(std::uint32_t seq) { tcp_seq_ = seq; return *this; }
  PacketBuilder& tcp_ack(std::uint32_t ack) { tcp_ack_ = ack; return *this; }
  PacketBuilder& tcp_window(std::uint16_t window) { tcp_window_ = window; return *this; }
  PacketBuilder& payload(std::span<const std::uint8_t> bytes);
  PacketBuilder& payload(std::string_view text);

  // Ethernet + IPv4 + UDP + payload.
  [[nodiscard]] std::vector<std::uint8_t> udp() const;
  // Ethernet + IPv4 + TCP (no options) + payload.
  [[nodiscard]] std::vector<std::uint8_t> tcp() const;
  // Ethernet header with `ethertype`, then the payload as is (non-IP frames).
  [[nodiscard]] std::vector<std::uint8_t> ethernet(std::uint16_t ethertype) const;

 private:
  [[nodiscard]] std::vector<std::uint8_t> ipv4(std::uint8_t protocol,
                                               std::span<const std::uint8_t> segment) const;

  MacAddress src_mac_ = kClientMac;
  MacAddress dst_mac_ = kNodeMac;
  Ipv4Address src_ip_ = kClientIp;
  Ipv4Address dst_ip_ = kNodeIp;
  std::uint16_t src_port_ = 40000;
  std::uint16_t dst_port_ = 7000;
  std::uint8_t ttl_ = 64;
  std::uint8_t tos_ = 0;
  std::uint16_t ip_id_ = 0;
  bool dont_fragment_ = true;
  std::uint8_t tcp_flags_ = tcp_flags::kSyn;
  std::uint32_t tcp_seq_ = 1;
  std::uint32_t tcp_ack_ = 0;
  std::uint16_t tcp_window_ = 65535;
  std::vector<std::uint8_t> payload_;
};

}  // namespace portway::test
