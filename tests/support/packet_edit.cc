#include "support/packet_edit.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "support/checksum.h"
#include "support/packet_types.h"

namespace portway::test {
namespace {

constexpr std::uint8_t kIcmp = 1;

struct Ipv4View {
  std::size_t ihl_len = 0;
  std::size_t tot_len = 0;
  std::uint8_t proto = 0;
  bool fragment = false;  // MF or offset > 0
  Ipv4Address src{};
  Ipv4Address dst{};
};

// Parses the IPv4 header at `at` if it is sound and complete within `bytes`.
std::optional<Ipv4View> view_ipv4(std::span<const std::uint8_t> bytes, std::size_t at) {
  if (bytes.size() < at + 20 || (bytes[at] >> 4) != 4) {
    return std::nullopt;
  }
  Ipv4View v;
  v.ihl_len = static_cast<std::size_t>(bytes[at] & 0x0f) * 4;
  v.tot_len = get_be16(bytes, at + 2);
  v.proto = bytes[at + 9];
  v.fragment = (get_be16(bytes, at + 6) & 0x3fff) != 0;
  std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at + 12), 4, v.src.begin());
  std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at + 16), 4, v.dst.begin());
  if (v.ihl_len < 20 || bytes.size() < at + v.ihl_len) {
    return std::nullopt;
  }
  return v;
}

bool is_ipv4_frame(std::span<const std::uint8_t> frame) {
  return frame.size() >= kL3Offset && frame[12] == 0x08 && frame[13] == 0x00;
}

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%04x", v);
  return buf;
}

}  // namespace

std::uint16_t get_be16(std::span<const std::uint8_t> frame, std::size_t at) {
  if (at + 2 > frame.size()) {
    throw std::out_of_range("get_be16 beyond the frame");
  }
  return static_cast<std::uint16_t>(frame[at] << 8 | frame[at + 1]);
}

void put_be16(std::vector<std::uint8_t>& frame, std::size_t at, std::uint16_t value) {
  frame.at(at) = static_cast<std::uint8_t>(value >> 8);
  frame.at(at + 1) = static_cast<std::uint8_t>(value & 0xff);
}

void fix_ipv4_checksum(std::vector<std::uint8_t>& frame) {
  const std::size_t ihl_len = static_cast<std::size_t>(frame.at(kL3Offset) & 0x0f) * 4;
  if (frame.size() < kL3Offset + ihl_len || ihl_len < 20) {
    throw std::out_of_range("IPv4 header does not fit the frame");
  }
  put_be16(frame, kL3Offset + 10, 0);
  const std::span<const std::uint8_t> header{frame.data() + kL3Offset, ihl_len};
  put_be16(frame, kL3Offset + 10, internet_checksum(header));
}

void fix_checksums(std::vector<std::uint8_t>& frame) {
  if (!is_ipv4_frame(frame)) {
    return;
  }
  const auto ip = view_ipv4(frame, kL3Offset);
  if (!ip) {
    return;
  }
  fix_ipv4_checksum(frame);
  if (ip->fragment || ip->tot_len < ip->ihl_len || frame.size() < kL3Offset + ip->tot_len) {
    return;
  }
  const std::size_t l4 = kL3Offset + ip->ihl_len;
  const std::size_t l4_len = ip->tot_len - ip->ihl_len;
  std::span<const std::uint8_t> seg{frame.data() + l4, l4_len};
  if (ip->proto == kTcp && l4_len >= 20) {
    put_be16(frame, l4 + 16, 0);
    put_be16(frame, l4 + 16, ipv4_l4_checksum(ip->src, ip->dst, kTcp, seg));
  } else if (ip->proto == kUdp && l4_len >= 8 && get_be16(frame, l4 + 6) != 0) {
    put_be16(frame, l4 + 6, 0);
    std::uint16_t sum = ipv4_l4_checksum(ip->src, ip->dst, kUdp, seg);
    put_be16(frame, l4 + 6, sum == 0 ? 0xffff : sum);
  } else if (ip->proto == kIcmp && l4_len >= 8) {
    put_be16(frame, l4 + 2, 0);
    put_be16(frame, l4 + 2, internet_checksum(seg));
  }
}

std::vector<std::uint8_t> ipv4_fragment(const std::vector<std::uint8_t>& frame, std::size_t offset,
                                        std::size_t length, bool more) {
  const auto ip = view_ipv4(frame, kL3Offset);
  if (!ip || offset % 8 != 0 || frame.size() < kL3Offset + ip->tot_len ||
      offset + length > ip->tot_len - ip->ihl_len) {
    throw std::invalid_argument("ipv4_fragment: not a complete datagram, or bad range");
  }
  std::vector<std::uint8_t> out(frame.begin(),
                                frame.begin() + static_cast<std::ptrdiff_t>(kL3Offset + ip->ihl_len));
  const auto payload = frame.begin() + static_cast<std::ptrdiff_t>(kL3Offset + ip->ihl_len);
  out.insert(out.end(), payload + static_cast<std::ptrdiff_t>(offset),
             payload + static_cast<std::ptrdiff_t>(offset + length));
  put_be16(out, kL3Offset + 2, static_cast<std::uint16_t>(ip->ihl_len + length));
  const std::uint16_t flags = get_be16(frame, kL3Offset + 6) & 0x4000;  // keep DF
  put_be16(out, kL3Offset + 6,
           static_cast<std::uint16_t>(flags | (more ? 0x2000 : 0) | (offset / 8)));
  fix_ipv4_checksum(out);
  return out;
}

std::optional<std::string> checksum_problem(std::span<const std::uint8_t> frame,
                                           bool check_quote) {
  if (!is_ipv4_frame(frame)) {
    return std::nullopt;
  }
  const auto ip = view_ipv4(frame, kL3Offset);
  if (!ip) {
    return "IPv4 header does not parse";
  }
  if (internet_checksum(frame.subspan(kL3Offset, ip->ihl_len)) != 0) {
    return "IPv4 header checksum " + hex16(get_be16(frame, kL3Offset + 10)) + " is wrong";
  }
  if (ip->tot_len < ip->ihl_len || frame.size() < kL3Offset + ip->tot_len) {
    return "IPv4 total length " + std::to_string(ip->tot_len) + " does not fit the frame";
  }
  if (ip->fragment) {
    return std::nullopt;  // the L4 checksum covers the whole datagram
  }
  const std::size_t l4 = kL3Offset + ip->ihl_len;
  const std::size_t l4_len = ip->tot_len - ip->ihl_len;
  const auto seg = frame.subspan(l4, l4_len);
  if (ip->proto == kTcp && l4_len >= 20) {
    if (ipv4_l4_checksum(ip->src, ip->dst, kTcp, seg) != 0) {
      return "TCP checksum " + hex16(get_be16(frame, l4 + 16)) + " is wrong";
    }
  } else if (ip->proto == kUdp && l4_len >= 8) {
    if (get_be16(frame, l4 + 6) != 0 && ipv4_l4_checksum(ip->src, ip->dst, kUdp, seg) != 0) {
      return "UDP checksum " + hex16(get_be16(frame, l4 + 6)) + " is wrong";
    }
  } else if (ip->proto == kIcmp && l4_len >= 8) {
    if (internet_checksum(seg) != 0) {
      return "ICMP checksum " + hex16(get_be16(frame, l4 + 2)) + " is wrong";
    }
    const std::uint8_t type = frame[l4];
    if (check_quote && (type == 3 || type == 11 || type == 12)) {
      const auto quote = seg.subspan(8);
      const auto inner = view_ipv4(quote, 0);
      if (inner && internet_checksum(quote.subspan(0, inner->ihl_len)) != 0) {
        return "quoted IPv4 header checksum " + hex16(get_be16(quote, 10)) + " is wrong";
      }
    }
  }
  return std::nullopt;
}

std::string describe_difference(std::span<const std::uint8_t> expected,
                                std::span<const std::uint8_t> actual) {
  std::size_t first = 0;
  while (first < expected.size() && first < actual.size() && expected[first] == actual[first]) {
    ++first;
  }
  std::string out = "sizes " + std::to_string(expected.size()) + " (expected) / " +
                    std::to_string(actual.size()) + " (actual), first difference at byte " +
                    std::to_string(first) + "\n";
  auto dump = [&](const char* label, std::span<const std::uint8_t> bytes) {
    out += label;
    const std::size_t end = std::min<std::size_t>(bytes.size(), 128);
    for (std::size_t i = 0; i < end; ++i) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), i == first ? "[%02x]" : " %02x", bytes[i]);
      out += buf;
      if (i % 16 == 15) {
        out += "\n          ";
      }
    }
    out += "\n";
  };
  dump("expected: ", expected);
  dump("actual:   ", actual);
  return out;
}

}  // namespace portway::test
