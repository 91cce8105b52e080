// IPv4/IPv6 addresses and prefixes as plain values (host byte order for IPv4 arithmetic),
// parsed strictly: "10.10.0.0/16" yes, "10.10.0.1/16" (host bits set) no.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portway::net {

struct Ipv4 {
  std::uint32_t value = 0;  // host byte order
  auto operator<=>(const Ipv4&) const = default;
};

struct Ipv6 {
  std::array<std::uint8_t, 16> bytes{};  // network byte order
  auto operator<=>(const Ipv6&) const = default;
};

std::optional<Ipv4> parse_ipv4(std::string_view s);
std::optional<Ipv6> parse_ipv6(std::string_view s);
std::string to_string(Ipv4 a);
std::string to_string(const Ipv6& a);

struct Ipv4Prefix {
  Ipv4 network;
  std::uint8_t length = 0;
  std::uint64_t size() const { return std::uint64_t{1} << (32 - length); }
  bool contains(Ipv4 a) const;
  auto operator<=>(const Ipv4Prefix&) const = default;
};

struct Ipv6Prefix {
  Ipv6 network;
  std::uint8_t length = 0;
  bool contains(const Ipv6& a) const;
  auto operator<=>(const Ipv6Prefix&) const = default;
};

// nullopt with `why` set on failure (for the settings error message).
std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view s, std::string* why = nullptr);
std::optional<Ipv6Prefix> parse_ipv6_prefix(std::string_view s, std::string* why = nullptr);
std::string to_string(const Ipv4Prefix& p);
std::string to_string(const Ipv6Prefix& p);

}  // namespace portway::net
