#include "support/packet_builder.h"

#include <array>
#include <stdexcept>
#include <string>

#include "support/checksum.h"

namespace portway::test {
namespace {

// Byte-wise big-endian writers: no struct overlays, so no alignment or padding questions.
void put8(std::vector<std::uint8_t>& out, std::uint8_t v) { out.push_back(v); }

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

void set16(std::vector<std::uint8_t>& out, std::size_t at, std::uint16_t v) {
  out.at(at) = static_cast<std::uint8_t>(v >> 8);
  out.at(at + 1) = static_cast<std::uint8_t>(v & 0xff);
}

template <std::size_t N>
void put_bytes(std::vector<std::uint8_t>& out, const std::array<std::uint8_t, N>& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

std::uint16_t checked_u16(std::size_t n, const char* what) {
  if (n > 0xffff) {
    throw std::length_error(std::string{what} + " exceeds 65535 bytes");
  }
  return static_cast<std::uint16_t>(n);
}

constexpr std::size_t kUdpChecksumOffset = 6;
constexpr std::size_t kTcpChecksumOffset = 16;
constexpr std::size_t kIpv4ChecksumOffset = 10;

}  // namespace

PacketBuilder& PacketBuilder::payload(std::span<const std::uint8_t> bytes) {
  payload_.assign(bytes.begin(), bytes.end());
  return *this;
}

PacketBuilder& PacketBuilder::payload(std::string_view text) {
  payload_.assign(text.begin(), text.end());
  return *this;
}

PacketBuilder& PacketBuilder::ip_options(std::span<const std::uint8_t> bytes) {
  if (bytes.size() % 4 != 0 || bytes.size() > 40) {
    throw std::invalid_argument("IPv4 options must be a multiple of 4 bytes, at most 40");
  }
  ip_options_.assign(bytes.begin(), bytes.end());
  return *this;
}

PacketBuilder& PacketBuilder::tcp_options(std::span<const std::uint8_t> bytes) {
  if (bytes.size() % 4 != 0 || bytes.size() > 40) {
    throw std::invalid_argument("TCP options must be a multiple of 4 bytes, at most 40");
  }
  tcp_options_.assign(bytes.begin(), bytes.end());
  return *this;
}

void PacketBuilder::put_ethernet(std::vector<std::uint8_t>& frame, std::uint16_t ethertype) const {
  put_bytes(frame, dst_mac_);
  put_bytes(frame, src_mac_);
  if (vlan_tpid_ != 0) {
    put16(frame, vlan_tpid_);
    put16(frame, vlan_tci_);
  }
  put16(frame, ethertype);
}

std::vector<std::uint8_t> PacketBuilder::ethernet(std::uint16_t ethertype) const {
  std::vector<std::uint8_t> frame;
  frame.reserve(kEthHeaderLen + 4 + payload_.size());
  put_ethernet(frame, ethertype);
  frame.insert(frame.end(), payload_.begin(), payload_.end());
  return frame;
}

std::vector<std::uint8_t> PacketBuilder::ipv4(std::uint8_t protocol,
                                              std::span<const std::uint8_t> segment) const {
  std::vector<std::uint8_t> frame;
  const std::size_t header_len = kIpv4HeaderLen + ip_options_.size();
  frame.reserve(kEthHeaderLen + 4 + header_len + segment.size());
  put_ethernet(frame, kEtherTypeIpv4);

  const std::size_t ip_start = frame.size();
  put8(frame, static_cast<std::uint8_t>(0x40 | (header_len / 4)));  // version 4, IHL
  put8(frame, tos_);
  put16(frame, checked_u16(header_len + segment.size(), "IPv4 total length"));
  put16(frame, ip_id_);
  if (fragment_offset_ > 0x1fff) {
    throw std::invalid_argument("fragment offset exceeds 13 bits");
  }
  put16(frame, static_cast<std::uint16_t>((dont_fragment_ ? 0x4000 : 0) |
                                          (more_fragments_ ? 0x2000 : 0) | fragment_offset_));
  put8(frame, ttl_);
  put8(frame, protocol);
  put16(frame, 0);  // header checksum, filled below
  put_bytes(frame, src_ip_);
  put_bytes(frame, dst_ip_);
  frame.insert(frame.end(), ip_options_.begin(), ip_options_.end());
  const std::span<const std::uint8_t> header{frame.data() + ip_start, header_len};
  set16(frame, ip_start + kIpv4ChecksumOffset, internet_checksum(header));

  frame.insert(frame.end(), segment.begin(), segment.end());
  return frame;
}

std::vector<std::uint8_t> PacketBuilder::udp() const {
  std::vector<std::uint8_t> seg;
  seg.reserve(kUdpHeaderLen + payload_.size());
  put16(seg, src_port_);
  put16(seg, dst_port_);
  put16(seg, checked_u16(kUdpHeaderLen + payload_.size(), "UDP length"));
  put16(seg, 0);
  seg.insert(seg.end(), payload_.begin(), payload_.end());
  if (udp_checksum_) {
    std::uint16_t sum = ipv4_l4_checksum(src_ip_, dst_ip_, kIpProtoUdp, seg);
    // In UDP a zero checksum field means "no checksum"; a computed zero is sent as all ones.
    if (sum == 0) {
      sum = 0xffff;
    }
    set16(seg, kUdpChecksumOffset, sum);
  }
  return ipv4(kIpProtoUdp, seg);
}

std::vector<std::uint8_t> PacketBuilder::tcp() const {
  std::vector<std::uint8_t> seg;
  const std::size_t header_len = kTcpHeaderLen + tcp_options_.size();
  seg.reserve(header_len + payload_.size());
  put16(seg, src_port_);
  put16(seg, dst_port_);
  put32(seg, tcp_seq_);
  put32(seg, tcp_ack_);
  put8(seg, static_cast<std::uint8_t>((header_len / 4) << 4));  // data offset
  put8(seg, tcp_flags_);
  put16(seg, tcp_window_);
  put16(seg, 0);  // checksum, filled below
  put16(seg, 0);  // urgent pointer
  seg.insert(seg.end(), tcp_options_.begin(), tcp_options_.end());
  seg.insert(seg.end(), payload_.begin(), payload_.end());
  set16(seg, kTcpChecksumOffset, ipv4_l4_checksum(src_ip_, dst_ip_, kIpProtoTcp, seg));
  return ipv4(kIpProtoTcp, seg);
}

std::vector<std::uint8_t> PacketBuilder::icmp(std::uint8_t type, std::uint8_t code,
                                               std::uint32_t rest_of_header) const {
  std::vector<std::uint8_t> msg;
  msg.reserve(8 + payload_.size());
  put8(msg, type);
  put8(msg, code);
  put16(msg, 0);  // checksum, filled below
  put32(msg, rest_of_header);
  msg.insert(msg.end(), payload_.begin(), payload_.end());
  set16(msg, 2, internet_checksum(msg));
  return ipv4(kIpProtoIcmp, msg);
}

std::vector<std::uint8_t> PacketBuilder::ip(std::uint8_t protocol) const {
  return ipv4(protocol, payload_);
}

}  // namespace portway::test
