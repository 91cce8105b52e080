// The flow hash of bpf/lib/jhash.h against an independent implementation of Bob Jenkins'
// lookup3 (the byte-oriented hashlittle), itself checked against lookup3's published values.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>

#include "flow_hash.h"
#include "portway/lb_abi.h"

namespace portway::test {
namespace {

std::uint32_t rot(std::uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

void mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
  a -= c; a ^= rot(c, 4);  c += b;
  b -= a; b ^= rot(a, 6);  a += c;
  c -= b; c ^= rot(b, 8);  b += a;
  a -= c; a ^= rot(c, 16); c += b;
  b -= a; b ^= rot(a, 19); a += c;
  c -= b; c ^= rot(b, 4);  b += a;
}

void final_mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
  c ^= b; c -= rot(b, 14);
  a ^= c; a -= rot(c, 11);
  b ^= a; b -= rot(a, 25);
  c ^= b; c -= rot(b, 16);
  a ^= c; a -= rot(c, 4);
  b ^= a; b -= rot(a, 14);
  c ^= b; c -= rot(b, 24);
}

// hashlittle: bytes read one at a time, little-endian, tail by length.
std::uint32_t hashlittle(const std::uint8_t* k, std::size_t length, std::uint32_t initval) {
  std::uint32_t a = 0xdeadbeef + static_cast<std::uint32_t>(length) + initval;
  std::uint32_t b = a;
  std::uint32_t c = a;
  const auto word = [](const std::uint8_t* p, std::size_t n) {
    std::uint32_t w = 0;
    for (std::size_t i = 0; i < n; ++i) {
      w |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    }
    return w;
  };
  while (length > 12) {
    a += word(k, 4);
    b += word(k + 4, 4);
    c += word(k + 8, 4);
    mix(a, b, c);
    length -= 12;
    k += 12;
  }
  if (length == 0) {
    return c;
  }
  a += word(k, std::min<std::size_t>(length, 4));
  if (length > 4) {
    b += word(k + 4, std::min<std::size_t>(length - 4, 4));
  }
  if (length > 8) {
    c += word(k + 8, length - 8);
  }
  final_mix(a, b, c);
  return c;
}

std::uint32_t hashlittle(std::string_view s, std::uint32_t initval) {
  return hashlittle(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), initval);
}

TEST(FlowHash, ReferenceMatchesLookup3PublishedValues) {
  EXPECT_EQ(hashlittle("", 0), 0xdeadbeefu);
  EXPECT_EQ(hashlittle("Four score and seven years ago", 0), 0x17770551u);
  EXPECT_EQ(hashlittle("Four score and seven years ago", 1), 0xcd628161u);
}

TEST(FlowHash, FourWordJhashEqualsLookup3OverTheSameBytes) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 10000; ++i) {
    const std::uint32_t w[4] = {static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng()),
                                static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng())};
    const std::uint32_t seed = static_cast<std::uint32_t>(rng());
    std::uint8_t bytes[16];
    for (int j = 0; j < 4; ++j) {
      for (int k = 0; k < 4; ++k) {
        bytes[4 * j + k] = static_cast<std::uint8_t>(w[j] >> (8 * k));
      }
    }
    ASSERT_EQ(pw_jhash_4words(w[0], w[1], w[2], w[3], seed), hashlittle(bytes, 16, seed))
        << "round " << i;
  }
}

TEST(FlowHash, FlowHashLaysOutTheTupleAsDocumented) {
  const std::uint32_t saddr = 0x010012c6;  // 198.18.0.1 as loaded on little-endian
  const std::uint32_t daddr = 0x010113c6;
  const std::uint16_t sport = 0x409c;  // 40000 in wire order, loaded little-endian
  const std::uint16_t dport = 0x5000;  // 80
  EXPECT_EQ(pw_flow_hash(saddr, daddr, sport, dport, 6, PW_FLOW_HASH_SEED),
            pw_jhash_4words(saddr, daddr, (std::uint32_t{sport} << 16) | dport, 6,
                            PW_FLOW_HASH_SEED));
  // Every field matters.
  const auto base = pw_flow_hash(saddr, daddr, sport, dport, 6, PW_FLOW_HASH_SEED);
  EXPECT_NE(base, pw_flow_hash(saddr + 1, daddr, sport, dport, 6, PW_FLOW_HASH_SEED));
  EXPECT_NE(base, pw_flow_hash(saddr, daddr + 1, sport, dport, 6, PW_FLOW_HASH_SEED));
  EXPECT_NE(base, pw_flow_hash(saddr, daddr, sport + 1, dport, 6, PW_FLOW_HASH_SEED));
  EXPECT_NE(base, pw_flow_hash(saddr, daddr, sport, dport + 1, 6, PW_FLOW_HASH_SEED));
  EXPECT_NE(base, pw_flow_hash(saddr, daddr, sport, dport, 17, PW_FLOW_HASH_SEED));
  EXPECT_NE(base, pw_flow_hash(saddr, daddr, sport, dport, 6, PW_FLOW_HASH_SEED + 1));
}

TEST(FlowHash, ReciprocalScaleStaysInRangeAndCoversIt) {
  for (const std::uint32_t m : {1u, 251u, 65537u, 1048573u}) {
    EXPECT_EQ(pw_reciprocal_scale(0, m), 0u);
    EXPECT_EQ(pw_reciprocal_scale(0xffffffffu, m), m - 1);
    EXPECT_EQ(pw_reciprocal_scale(0x80000000u, m), m / 2);
  }
}

}  // namespace
}  // namespace portway::test
