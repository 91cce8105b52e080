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
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;
inline constexpr std::uint8_t kIpProtoIcmp = 1;
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
// empty payload, TCP flags SYN, no IP or TCP options, no VLAN tag, UDP checksum computed.
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
  // IPv4 options after the fixed header; a multiple of 4 bytes, at most 40 (throws otherwise).
  PacketBuilder& ip_options(std::span<const std::uint8_t> bytes);
  // Fragment offset in 8-byte units and the MF flag (DF is left as dont_fragment() set it).
  PacketBuilder& fragment(std::uint16_t offset_units, bool more_fragments) {
    fragment_offset_ = offset_units;
    more_fragments_ = more_fragments;
    return *this;
  }
  // An 802.1Q (or, with tpid 0x88a8, 802.1ad) tag between the MACs and the ethertype.
  PacketBuilder& vlan(std::uint16_t tci, std::uint16_t tpid = kEtherTypeVlan) {
    vlan_tci_ = tci;
    vlan_tpid_ = tpid;
    return *this;
  }
  // TCP options after the fixed header; a multiple of 4 bytes, at most 40 (throws otherwise).
  PacketBuilder& tcp_options(std::span<const std::uint8_t> bytes);
  // false: send UDP with checksum 0 ("no checksum", RFC 768).
  PacketBuilder& udp_checksum(bool enabled) { udp_checksum_ = enabled; return *this; }

  // Ethernet + IPv4 + UDP + payload.
  [[nodiscard]] std::vector<std::uint8_t> udp() const;
  // Ethernet + IPv4 + TCP (no options) + payload.
  [[nodiscard]] std::vector<std::uint8_t> tcp() const;
  // Ethernet + IPv4 + ICMP header (type, code, the 4 "rest of header" bytes) + payload,
  // e.g. the quoted packet of an ICMP error. ICMP checksum computed.
  [[nodiscard]] std::vector<std::uint8_t> icmp(std::uint8_t type, std::uint8_t code,
                                               std::uint32_t rest_of_header = 0) const;
  // Ethernet + IPv4 with `protocol`, the payload as the IP payload (other protocols, or a
  // hand-made L4 header).
  [[nodiscard]] std::vector<std::uint8_t> ip(std::uint8_t protocol) const;
  // Ethernet header with `ethertype`, then the payload as is (non-IP frames).
  [[nodiscard]] std::vector<std::uint8_t> ethernet(std::uint16_t ethertype) const;

 private:
  [[nodiscard]] std::vector<std::uint8_t> ipv4(std::uint8_t protocol,
                                               std::span<const std::uint8_t> segment) const;
  void put_ethernet(std::vector<std::uint8_t>& frame, std::uint16_t ethertype) const;

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
  std::vector<std::uint8_t> ip_options_;
  std::vector<std::uint8_t> tcp_options_;
  std::uint16_t fragment_offset_ = 0;
  bool more_fragments_ = false;
  std::uint16_t vlan_tci_ = 0;
  std::uint16_t vlan_tpid_ = 0;  // 0: untagged
  bool udp_checksum_ = true;
};

}  // namespace portway::test
