// The Internet checksum (RFC 1071) as IPv4, UDP and TCP use it.
#pragma once

#include <cstdint>
#include <span>

#include "support/packet_types.h"

namespace portway::test {

// Adds `bytes` as big-endian 16-bit words to a running 32-bit one's complement sum. An odd
// trailing byte is padded with zero, so only the last piece of a chained sum may be odd-length.
[[nodiscard]] std::uint32_t checksum_add(std::span<const std::uint8_t> bytes,
                                         std::uint32_t sum = 0);

// Folds the carries and complements: the value to store (big-endian) in a checksum field.
[[nodiscard]] std::uint16_t checksum_finish(std::uint32_t sum);

[[nodiscard]] std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes);

// TCP/UDP checksum over the IPv4 pseudo-header (src, dst, zero, protocol, segment length) and
// `segment` (header with a zero checksum field, then payload). UDP must then send 0 as 0xffff.
[[nodiscard]] std::uint16_t ipv4_l4_checksum(const Ipv4Address& src, const Ipv4Address& dst,
                                             std::uint8_t protocol,
                                             std::span<const std::uint8_t> segment);

}  // namespace portway::test
