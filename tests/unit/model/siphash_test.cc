// SipHash-2-4 against the reference vectors of Aumasson & Bernstein (key 00..0f, message
// 00..len-1): the preferred service address depends on this function never changing.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "model/siphash.h"

namespace portway::model {
namespace {

TEST(SipHash24, ReferenceVectors) {
  // The reference vectors.h lists little-endian bytes; these are the same values as integers.
  const std::uint64_t expected[] = {
      0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
      0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
      0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
      0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
  };
  SipKey key;
  for (std::uint8_t i = 0; i < 16; ++i) key[i] = i;
  std::vector<std::uint8_t> msg;
  for (std::size_t len = 0; len < std::size(expected); ++len) {
    EXPECT_EQ(siphash24(key, msg), expected[len]) << "message length " << len;
    msg.push_back(static_cast<std::uint8_t>(len));
  }
}

TEST(SipHash24, StringOverloadHashesTheBytes) {
  const SipKey key{};
  const std::string_view s = "svc/irc/irc";
  EXPECT_EQ(siphash24(key, s),
            siphash24(key, std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())));
  EXPECT_NE(siphash24(key, "svc/a-b/c"), siphash24(key, "svc/a/b-c"));
}

}  // namespace
}  // namespace portway::model
