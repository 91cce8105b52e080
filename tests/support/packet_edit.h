// Byte-level edits of built frames (malformed fixtures, fragments, mutations) and an
// independent checksum verifier for whatever a program sent back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace portway::test {

// Offset of the IPv4 header in an untagged frame.
inline constexpr std::size_t kL3Offset = 14;

[[nodiscard]] std::uint16_t get_be16(std::span<const std::uint8_t> frame, std::size_t at);
void put_be16(std::vector<std::uint8_t>& frame, std::size_t at, std::uint16_t value);

// Recomputes the IPv4 header checksum (IHL taken from the frame). Throws std::out_of_range if
// the header does not fit the frame.
void fix_ipv4_checksum(std::vector<std::uint8_t>& frame);

// Recomputes every checksum the frame has complete data for: the IPv4 header, and for an
// unfragmented datagram its TCP, UDP (a zero UDP checksum stays zero) or ICMP checksum.
// Leaves frames it cannot parse alone.
void fix_checksums(std::vector<std::uint8_t>& frame);

// One fragment of the untagged IPv4 datagram in `frame`: its IP payload bytes
// [offset, offset + length), with MF = more and the header (options included) copied, length
// and checksum fixed. `offset` must be a multiple of 8.
[[nodiscard]] std::vector<std::uint8_t> ipv4_fragment(const std::vector<std::uint8_t>& frame,
                                                      std::size_t offset, std::size_t length,
                                                      bool more);

// Why the checksums of an untagged Ethernet/IPv4 frame are wrong, or nullopt when they all
// hold: the IPv4 header; TCP/UDP over the pseudo-header (UDP 0 = none is accepted) and ICMP
// over its message, for unfragmented datagrams; for ICMP errors also the quoted IPv4 header.
// Non-IPv4 frames have nothing to check (nullopt); an IPv4 frame whose lengths do not parse
// is a problem.
// check_quote = false skips the quoted header (an ICMP error quotes a header as it was, so a
// corrupt header stays corrupt in the quote).
[[nodiscard]] std::optional<std::string> checksum_problem(std::span<const std::uint8_t> frame,
                                                          bool check_quote = true);

// Hex dump with the first differing byte marked, for failure messages.
[[nodiscard]] std::string describe_difference(std::span<const std::uint8_t> expected,
                                              std::span<const std::uint8_t> actual);

}  // namespace portway::test
