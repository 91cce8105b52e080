#include "pktgen/frame_writer.h"

#include <cstring>
#include <stdexcept>

namespace portway::pktgen {
namespace {

constexpr std::size_t kEthLen = 14;
constexpr std::size_t kIpv4Len = 20;
constexpr std::size_t kIpv6Len = 40;
constexpr std::size_t kUdpLen = 8;
constexpr std::size_t kTcpLen = 20;
constexpr std::uint8_t kTcpSyn = 0x02;
constexpr std::uint8_t kTcpAck = 0x10;

void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}

std::uint32_t get32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// One's complement sum of big-endian 16-bit words (n even). RFC 1071: the sum of words in
// either byte order gives the same checksum bytes, so these frames match the program's, which
// sums words as the CPU loads them.
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += std::uint32_t{p[i]} << 8 | p[i + 1];
  return sum;
}

std::uint16_t checksum(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

bool is_tcp(const portway_pktgen_config& c) { return c.l4 != PORTWAY_PKTGEN_UDP; }

std::size_t l3_len(const portway_pktgen_config& c) { return c.family == 6 ? kIpv6Len : kIpv4Len; }

std::size_t l4_hdr_len(const portway_pktgen_config& c) { return is_tcp(c) ? kTcpLen : kUdpLen; }

}  // namespace

bool FrameWriter::stamped() const {
  return config_.stamp != 0 &&
         config_.frame_len >= kEthLen + l3_len(config_) + l4_hdr_len(config_) + sizeof(portway_pktgen_stamp);
}

void FrameWriter::write(std::uint64_t flow, std::span<std::uint8_t> frame, std::uint32_t cpu,
                        std::uint64_t sent_ns) const {
  if (frame.size() != config_.frame_len) throw std::invalid_argument("frame buffer is not frame_len bytes");
  const portway_pktgen_config& c = config_;
  const std::uint8_t proto = is_tcp(c) ? 6 : 17;
  const std::size_t l3 = l3_len(c), l4_hdr = l4_hdr_len(c);
  const std::uint32_t l4_len = static_cast<std::uint32_t>(c.frame_len - kEthLen - l3);
  const std::uint16_t sport = portway_pktgen_flow_port(flow, c.src_port_min, c.src_port_count);
  const std::uint32_t addr_offset = portway_pktgen_flow_addr_offset(flow, c.src_port_count, c.src_addr_count);
  std::uint8_t* eth = frame.data();
  std::uint8_t* ip = eth + kEthLen;
  std::uint8_t* l4 = ip + l3;

  std::memcpy(eth, c.dst_mac, 6);
  std::memcpy(eth + 6, c.src_mac, 6);
  std::uint32_t pseudo = 0;
  if (c.family == 6) {
    put16(eth + 12, 0x86DD);
    put32(ip, 0x60000000u);  // version 6, traffic class 0, flow label 0
    put16(ip + 4, l4_len);
    ip[6] = proto;
    ip[7] = 64;  // hop limit
    std::memcpy(ip + 8, c.src_addr, 16);
    put32(ip + 8 + 12, get32(c.src_addr + 12) + addr_offset);
    std::memcpy(ip + 24, c.dst_addr, 16);
    pseudo = sum16(ip + 8, 32, 0);
  } else {
    put16(eth + 12, 0x0800);
    put16(ip, 0x4500);  // version 4, IHL 5, TOS 0
    put16(ip + 2, static_cast<std::uint32_t>(c.frame_len - kEthLen));
    put16(ip + 4, 0);       // id
    put16(ip + 6, 0x4000);  // DF
    ip[8] = 64;             // TTL
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, get32(c.src_addr) + addr_offset);
    std::memcpy(ip + 16, c.dst_addr, 4);
    put16(ip + 10, checksum(sum16(ip, kIpv4Len, 0)));
    pseudo = sum16(ip + 12, 8, 0);
  }
  pseudo += l4_len + proto;

  std::uint32_t sum = pseudo;
  if (stamped()) {
    portway_pktgen_stamp s{};
    s.magic = PORTWAY_PKTGEN_MAGIC;
    s.cpu = cpu;
    s.sent_ns = sent_ns;
    std::memcpy(l4 + l4_hdr, &s, sizeof s);  // host byte order, as the program writes it
    sum = sum16(l4 + l4_hdr, sizeof s, sum);
  }
  if (is_tcp(c)) {
    const bool syn = c.l4 == PORTWAY_PKTGEN_TCP_SYN;
    put16(l4, sport);
    put16(l4 + 2, c.dst_port);
    put32(l4 + 4, 1);            // seq
    put32(l4 + 8, syn ? 0 : 1);  // ack
    put16(l4 + 12, 5u << 12 | (syn ? kTcpSyn : kTcpAck));  // data offset 5 words, no options
    put16(l4 + 14, 65535);       // window
    put16(l4 + 16, 0);
    put16(l4 + 18, 0);           // urgent pointer
    put16(l4 + 16, checksum(sum16(l4, kTcpLen, sum)));
  } else {
    put16(l4, sport);
    put16(l4 + 2, c.dst_port);
    put16(l4 + 4, l4_len);
    put16(l4 + 6, 0);
    const std::uint16_t check = checksum(sum16(l4, kUdpLen, sum));
    put16(l4 + 6, check != 0 ? check : 0xffff);  // 0 means "no checksum" (RFC 768)
  }
}

}  // namespace portway::pktgen
