#include "support/checksum.h"

#include <array>
#include <stdexcept>

namespace portway::test {

std::uint32_t checksum_add(std::span<const std::uint8_t> bytes, std::uint32_t sum) {
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    // Fold as we go so a long buffer cannot overflow the 32-bit accumulator.
    sum = (sum & 0xffffu) + (sum >> 16);
  }
  if (i < bytes.size()) {
    sum += static_cast<std::uint32_t>(bytes[i] << 8);
  }
  return sum;
}

std::uint16_t checksum_finish(std::uint32_t sum) {
  while (sum >> 16 != 0) {
    sum = (sum & 0xffffu) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum & 0xffffu);
}

std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes) {
  return checksum_finish(checksum_add(bytes));
}

std::uint16_t ipv4_l4_checksum(const Ipv4Address& src, const Ipv4Address& dst,
                               std::uint8_t protocol, std::span<const std::uint8_t> segment) {
  if (segment.size() > 0xffff) {
    throw std::length_error("L4 segment longer than 65535 bytes");
  }
  const auto len = static_cast<std::uint16_t>(segment.size());
  const std::array<std::uint8_t, 12> pseudo{
      src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3],
      0,      protocol, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len & 0xff)};
  return checksum_finish(checksum_add(segment, checksum_add(pseudo)));
}

}  // namespace portway::test
