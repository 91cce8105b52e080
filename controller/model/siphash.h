// SipHash-2-4 (Aumasson & Bernstein, 2012), 64-bit output. Used where a hash must be the same
// on every build and platform for ever (the preferred service address is derived from it):
// defined on bytes, little-endian by specification, no std::hash, no compiler dependence.
// Checked against the reference test vectors in tests/unit/model/siphash_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace portway::model {

using SipKey = std::array<std::uint8_t, 16>;

std::uint64_t siphash24(const SipKey& key, std::span<const std::uint8_t> data);
std::uint64_t siphash24(const SipKey& key, std::string_view data);

}  // namespace portway::model
