#include "net/ip_prefix.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace portway::net {
namespace {

// inet_pton wants a NUL-terminated string; the views here are short and bounded.
template <int Family, std::size_t N>
bool pton(std::string_view s, unsigned char (&out)[N]) {
  if (s.empty() || s.size() >= 64) return false;
  char buf[64];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(Family, buf, out) == 1;
}

bool split_prefix(std::string_view s, std::string_view& addr, unsigned& len, unsigned max,
                  std::string* why) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) {
    if (why) *why = "missing /length";
    return false;
  }
  addr = s.substr(0, slash);
  const std::string_view digits = s.substr(slash + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() || len > max) {
    if (why) *why = "prefix length must be 0.." + std::to_string(max);
    return false;
  }
  return true;
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view s) {
  unsigned char b[4];
  if (!pton<AF_INET>(s, b)) return std::nullopt;
  return Ipv4{(std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
              (std::uint32_t{b[2]} << 8) | b[3]};
}

std::optional<Ipv6> parse_ipv6(std::string_view s) {
  unsigned char b[16];
  if (!pton<AF_INET6>(s, b)) return std::nullopt;
  Ipv6 a;
  std::memcpy(a.bytes.data(), b, 16);
  return a;
}

std::string to_string(Ipv4 a) {
  return std::to_string(a.value >> 24) + "." + std::to_string((a.value >> 16) & 0xFF) + "." +
         std::to_string((a.value >> 8) & 0xFF) + "." + std::to_string(a.value & 0xFF);
}

std::string to_string(const Ipv6& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
  return buf;
}

bool Ipv4Prefix::contains(Ipv4 a) const {
  const std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
  return (a.value & mask) == network.value;
}

bool Ipv6Prefix::contains(const Ipv6& a) const {
  for (unsigned bit = 0; bit < length; bit += 8) {
    const unsigned take = length - bit >= 8 ? 8 : length - bit;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
    if ((a.bytes[bit / 8] & mask) != (network.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view s, std::string* why) {
  std::string_view addr;
  unsigned len = 0;
  if (!split_prefix(s, addr, len, 32, why)) return std::nullopt;
  auto a = parse_ipv4(addr);
  if (!a) {
    if (why) *why = "not an IPv4 address";
    return std::nullopt;
  }
  const std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
  if ((a->value & ~mask) != 0) {
    if (why)
      *why = "host bits are set (did you mean " + to_string(Ipv4{a->value & mask}) + "/" +
             std::to_string(len) + "?)";
    return std::nullopt;
  }
  Ipv4Prefix p{*a, static_cast<std::uint8_t>(len)};
  return p;
}

std::optional<Ipv6Prefix> parse_ipv6_prefix(std::string_view s, std::string* why) {
  std::string_view addr;
  unsigned len = 0;
  if (!split_prefix(s, addr, len, 128, why)) return std::nullopt;
  auto a = parse_ipv6(addr);
  if (!a) {
    if (why) *why = "not an IPv6 address";
    return std::nullopt;
  }
  for (unsigned bit = len; bit < 128; ++bit) {
    if (a->bytes[bit / 8] & (0x80 >> (bit % 8))) {
      if (why) *why = "host bits are set";
      return std::nullopt;
    }
  }
  return Ipv6Prefix{*a, static_cast<std::uint8_t>(len)};
}

std::string to_string(const Ipv4Prefix& p) { return to_string(p.network) + "/" + std::to_string(p.length); }
std::string to_string(const Ipv6Prefix& p) { return to_string(p.network) + "/" + std::to_string(p.length); }

}  // namespace portway::net
