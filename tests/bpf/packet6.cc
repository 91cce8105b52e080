#include "packet6.h"

#include <cstdio>
#include <stdexcept>

#include "support/checksum.h"

namespace portway::test {
namespace {

constexpr std::size_t kEth = 14;
constexpr std::size_t kIp6 = 40;

void put16(std::vector<std::uint8_t>& f, std::size_t at, std::uint16_t v) {
  f.at(at) = static_cast<std::uint8_t>(v >> 8);
  f.at(at + 1) = static_cast<std::uint8_t>(v & 0xff);
}

std::uint16_t get16(std::span<const std::uint8_t> f, std::size_t at) {
  return static_cast<std::uint16_t>(f[at] << 8 | f[at + 1]);
}

void put32(std::vector<std::uint8_t>& f, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    f.at(at + static_cast<std::size_t>(i)) = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }
}

Ipv6Address addr_at(std::span<const std::uint8_t> f, std::size_t at) {
  Ipv6Address a{};
  for (std::size_t i = 0; i < 16; ++i) a[i] = f[at + i];
  return a;
}

}  // namespace

std::string ipv6_text(const Ipv6Address& a) {
  std::string out;
  for (std::size_t i = 0; i < 16; i += 2) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%x", a[i] << 8 | a[i + 1]);
    out += (i ? ":" : "") + std::string(buf);
  }
  return out;
}

Packet6& Packet6::fragment(std::uint16_t offset_units, bool more, std::uint32_t id) {
  const std::uint16_t off = static_cast<std::uint16_t>(offset_units << 3 | (more ? 1 : 0));
  return ext(kNextFragment,
             {0, static_cast<std::uint8_t>(off >> 8), static_cast<std::uint8_t>(off & 0xff),
              static_cast<std::uint8_t>(id >> 24), static_cast<std::uint8_t>(id >> 16),
              static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)});
}

std::uint16_t ipv6_l4_checksum(const Ipv6Address& src, const Ipv6Address& dst, std::uint8_t next,
                               std::span<const std::uint8_t> segment) {
  std::vector<std::uint8_t> pseudo(40, 0);
  std::copy(src.begin(), src.end(), pseudo.begin());
  std::copy(dst.begin(), dst.end(), pseudo.begin() + 16);
  put32(pseudo, 32, static_cast<std::uint32_t>(segment.size()));
  pseudo[39] = next;
  return checksum_finish(checksum_add(segment, checksum_add(pseudo)));
}

std::vector<std::uint8_t> Packet6::frame(std::uint8_t upper, std::vector<std::uint8_t> segment,
                                         std::optional<std::size_t> csum_at) const {
  if (csum_at) {
    std::uint16_t c = ipv6_l4_checksum(src_, dst_, upper, segment);
    if (upper == 17 && c == 0) c = 0xffff;
    put16(segment, *csum_at, c);
  }
  std::vector<std::uint8_t> exts;
  for (std::size_t i = 0; i < ext_.size(); ++i) {
    exts.push_back(i + 1 < ext_.size() ? ext_[i + 1].type : upper);
    exts.insert(exts.end(), ext_[i].body.begin(), ext_[i].body.end());
  }
  std::vector<std::uint8_t> f(kEth + kIp6);
  std::copy(dst_mac_.begin(), dst_mac_.end(), f.begin());
  std::copy(src_mac_.begin(), src_mac_.end(), f.begin() + 6);
  put16(f, 12, 0x86dd);
  f[14] = 0x60;
  put16(f, 18, static_cast<std::uint16_t>(exts.size() + segment.size()));
  f[20] = ext_.empty() ? upper : ext_.front().type;
  f[21] = hop_limit_;
  std::copy(src_.begin(), src_.end(), f.begin() + 22);
  std::copy(dst_.begin(), dst_.end(), f.begin() + 38);
  f.insert(f.end(), exts.begin(), exts.end());
  f.insert(f.end(), segment.begin(), segment.end());
  return f;
}

std::vector<std::uint8_t> Packet6::tcp() const {
  std::vector<std::uint8_t> s(20, 0);
  put16(s, 0, sport_);
  put16(s, 2, dport_);
  put32(s, 4, tcp_seq_);
  put32(s, 8, tcp_ack_);
  s[12] = 5 << 4;
  s[13] = tcp_flags_;
  put16(s, 14, 65535);
  s.insert(s.end(), payload_.begin(), payload_.end());
  return frame(6, s, 16);
}

std::vector<std::uint8_t> Packet6::udp() const {
  std::vector<std::uint8_t> s(8, 0);
  put16(s, 0, sport_);
  put16(s, 2, dport_);
  put16(s, 4, static_cast<std::uint16_t>(8 + payload_.size()));
  s.insert(s.end(), payload_.begin(), payload_.end());
  return frame(17, s, udp_checksum_ ? std::optional<std::size_t>(6) : std::nullopt);
}

std::vector<std::uint8_t> Packet6::icmp6(std::uint8_t type, std::uint8_t code,
                                         std::uint32_t rest) const {
  std::vector<std::uint8_t> s(8, 0);
  s[0] = type;
  s[1] = code;
  put32(s, 4, rest);
  s.insert(s.end(), payload_.begin(), payload_.end());
  return frame(kNextIcmp6, s, 2);
}

std::vector<std::uint8_t> Packet6::raw(std::uint8_t next) const {
  return frame(next, payload_, std::nullopt);
}

std::optional<std::string> checksum6_problem(std::span<const std::uint8_t> f) {
  if (f.size() < kEth + kIp6 || get16(f, 12) != 0x86dd) return std::nullopt;
  const std::size_t plen = get16(f, 18);
  if (f.size() < kEth + kIp6 + plen) return "payload_len beyond the frame";
  const std::uint8_t next = f[20];
  if (next != 6 && next != 17 && next != kNextIcmp6) return std::nullopt;  // ext headers
  const auto seg = f.subspan(kEth + kIp6, plen);
  const std::size_t at = next == 6 ? 16 : next == 17 ? 6 : 2;
  if (seg.size() < at + 2) return std::nullopt;
  if (next == 17 && get16(seg, 6) == 0) return "IPv6 UDP with checksum 0";
  std::vector<std::uint8_t> copy(seg.begin(), seg.end());
  copy[at] = copy[at + 1] = 0;
  std::uint16_t want = ipv6_l4_checksum(addr_at(f, 22), addr_at(f, 38), next, copy);
  if (next == 17 && want == 0) want = 0xffff;
  if (get16(seg, at) != want) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "upper-layer %u checksum 0x%04x, want 0x%04x", next,
                  get16(seg, at), want);
    return std::string(buf);
  }
  return std::nullopt;
}

std::vector<std::uint8_t> ipv6_fragment(const std::vector<std::uint8_t>& whole,
                                        std::size_t offset, std::size_t length, bool more,
                                        std::uint32_t id) {
  if (offset % 8 != 0) throw std::invalid_argument("fragment offset not a multiple of 8");
  const std::uint8_t upper = whole.at(20);
  const std::size_t start = kEth + kIp6 + offset;
  if (start + length > whole.size()) throw std::invalid_argument("fragment beyond the packet");
  std::vector<std::uint8_t> f(whole.begin(), whole.begin() + kEth + kIp6);
  f[20] = kNextFragment;
  put16(f, 18, static_cast<std::uint16_t>(8 + length));
  const std::uint16_t off = static_cast<std::uint16_t>((offset / 8) << 3 | (more ? 1 : 0));
  const std::vector<std::uint8_t> hdr{upper, 0, static_cast<std::uint8_t>(off >> 8),
                                      static_cast<std::uint8_t>(off & 0xff),
                                      static_cast<std::uint8_t>(id >> 24),
                                      static_cast<std::uint8_t>(id >> 16),
                                      static_cast<std::uint8_t>(id >> 8),
                                      static_cast<std::uint8_t>(id)};
  f.insert(f.end(), hdr.begin(), hdr.end());
  f.insert(f.end(), whole.begin() + static_cast<std::ptrdiff_t>(start),
           whole.begin() + static_cast<std::ptrdiff_t>(start + length));
  return f;
}

}  // namespace portway::test
