// Address types of the test packet builder, and lab addresses (docs/testing.md: tests use
// the benchmarking range 198.18.0.0/15 only).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace portway::test {

using MacAddress = std::array<std::uint8_t, 6>;
using Ipv4Address = std::array<std::uint8_t, 4>;  // network order, as on the wire

// Parses dotted-quad text; throws std::invalid_argument on anything else.
[[nodiscard]] Ipv4Address ipv4(std::string_view dotted);

// True for 198.18.0.0/15.
[[nodiscard]] constexpr bool is_benchmark_range(const Ipv4Address& a) {
  return a[0] == 198 && (a[1] & 0xfe) == 18;
}

// Locally administered unicast MACs (bit 1 of the first octet set, bit 0 clear).
inline constexpr MacAddress kClientMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr MacAddress kNodeMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
inline constexpr Ipv4Address kClientIp{198, 18, 0, 1};
inline constexpr Ipv4Address kNodeIp{198, 19, 0, 1};

// IP protocol numbers, as the frames and the map keys carry them.
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kGre = 47;

}  // namespace portway::test
