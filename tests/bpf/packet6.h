// Ethernet/IPv6 frames for the IPv6 fixtures: extension headers, TCP, UDP, ICMPv6, all with
// checksums over the IPv6 pseudo-header (RFC 8200 8.1), and an independent checksum check of
// what a program sent back.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "support/packet_types.h"

namespace portway::test {

using Ipv6Address = std::array<std::uint8_t, 16>;  // as on the wire

// 2001:2:0:<group>::<host> (the lab range 2001:2::/48, docs/testing.md).
[[nodiscard]] constexpr Ipv6Address lab6(std::uint16_t group, std::uint16_t host) {
  return {0x20, 0x01, 0x00, 0x02, 0x00, 0x00, static_cast<std::uint8_t>(group >> 8),
          static_cast<std::uint8_t>(group & 0xff), 0, 0, 0, 0, 0, 0,
          static_cast<std::uint8_t>(host >> 8), static_cast<std::uint8_t>(host & 0xff)};
}

[[nodiscard]] std::string ipv6_text(const Ipv6Address& a);

inline constexpr std::uint8_t kNextHop = 0;
inline constexpr std::uint8_t kNextRouting = 43;
inline constexpr std::uint8_t kNextFragment = 44;
inline constexpr std::uint8_t kNextDest = 60;
inline constexpr std::uint8_t kNextIcmp6 = 58;
inline constexpr std::uint8_t kNextEsp = 50;
inline constexpr std::uint8_t kNextNone = 59;

// Value type like PacketBuilder. Defaults: hop limit 64, TCP SYN seq 1, empty payload, no
// extension headers.
class Packet6 {
 public:
  Packet6& src_mac(const MacAddress& m) { src_mac_ = m; return *this; }
  Packet6& dst_mac(const MacAddress& m) { dst_mac_ = m; return *this; }
  Packet6& src(const Ipv6Address& a) { src_ = a; return *this; }
  Packet6& dst(const Ipv6Address& a) { dst_ = a; return *this; }
  Packet6& src_port(std::uint16_t p) { sport_ = p; return *this; }
  Packet6& dst_port(std::uint16_t p) { dport_ = p; return *this; }
  Packet6& hop_limit(std::uint8_t h) { hop_limit_ = h; return *this; }
  Packet6& tcp_flags(std::uint8_t f) { tcp_flags_ = f; return *this; }
  Packet6& tcp_seq(std::uint32_t s) { tcp_seq_ = s; return *this; }
  Packet6& tcp_ack(std::uint32_t a) { tcp_ack_ = a; return *this; }
  Packet6& payload(std::span<const std::uint8_t> b) { payload_.assign(b.begin(), b.end()); return *this; }
  Packet6& payload(std::string_view t) { payload_.assign(t.begin(), t.end()); return *this; }
  Packet6& udp_checksum(bool on) { udp_checksum_ = on; return *this; }
  // An extension header of `type` with `body` after its next-header byte (the length byte
  // included, as the caller wants it; may be malformed on purpose).
  Packet6& ext(std::uint8_t type, std::vector<std::uint8_t> body) {
    ext_.push_back({type, std::move(body)});
    return *this;
  }
  // Hop-by-hop / destination options of 8 bytes (one PadN option).
  Packet6& hop_by_hop() { return ext(kNextHop, {0, 1, 4, 0, 0, 0, 0}); }
  Packet6& dest_opts() { return ext(kNextDest, {0, 1, 4, 0, 0, 0, 0}); }
  // A fragment header (offset in 8-byte units).
  Packet6& fragment(std::uint16_t offset_units, bool more, std::uint32_t id);

  [[nodiscard]] std::vector<std::uint8_t> tcp() const;
  [[nodiscard]] std::vector<std::uint8_t> udp() const;
  // ICMPv6 header (type, code, the 4 bytes after the checksum) + payload.
  [[nodiscard]] std::vector<std::uint8_t> icmp6(std::uint8_t type, std::uint8_t code,
                                                std::uint32_t rest = 0) const;
  // The payload as the upper layer of protocol `next` (no checksum of its own).
  [[nodiscard]] std::vector<std::uint8_t> raw(std::uint8_t next) const;

 private:
  [[nodiscard]] std::vector<std::uint8_t> frame(std::uint8_t upper,
                                                std::vector<std::uint8_t> segment,
                                                std::optional<std::size_t> csum_at) const;
  struct Ext {
    std::uint8_t type;
    std::vector<std::uint8_t> body;
  };
  MacAddress src_mac_ = kClientMac;
  MacAddress dst_mac_ = kNodeMac;
  Ipv6Address src_ = lab6(0, 1);
  Ipv6Address dst_ = lab6(1, 1);
  std::uint16_t sport_ = 40000;
  std::uint16_t dport_ = 7000;
  std::uint8_t hop_limit_ = 64;
  std::uint8_t tcp_flags_ = 0x02;
  std::uint32_t tcp_seq_ = 1;
  std::uint32_t tcp_ack_ = 0;
  std::vector<std::uint8_t> payload_;
  std::vector<Ext> ext_;
  bool udp_checksum_ = true;
};

// The checksum over the IPv6 pseudo-header and `segment` (its checksum field zero).
[[nodiscard]] std::uint16_t ipv6_l4_checksum(const Ipv6Address& src, const Ipv6Address& dst,
                                             std::uint8_t next,
                                             std::span<const std::uint8_t> segment);

// Why the upper-layer checksum of an Ethernet/IPv6 frame without fragmentation is wrong, or
// nullopt (also for frames that are not IPv6 or are fragments: nothing to check).
[[nodiscard]] std::optional<std::string> checksum6_problem(std::span<const std::uint8_t> frame);

// A fragment of the IPv6 packet in `whole` (built without a fragment header and without other
// extension headers): the upper-layer bytes [offset, offset + length) behind a fragment
// header (id, M = more); offset a multiple of 8.
[[nodiscard]] std::vector<std::uint8_t> ipv6_fragment(const std::vector<std::uint8_t>& whole,
                                                      std::size_t offset, std::size_t length,
                                                      bool more, std::uint32_t id);

}  // namespace portway::test
