#include "lb/maglev.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace portway::lb {
namespace {

constexpr std::uint64_t kOffsetSeed = 0x9E3779B97F4A7C15ull;
constexpr std::uint64_t kSkipSeed = 0xC2B2AE3D27D4EB4Full;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

bool is_prime(std::uint32_t n) {
  if (n < 2) return false;
  for (std::uint32_t d = 2; std::uint64_t{d} * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

std::uint32_t maglev_table_size_for(std::size_t backends, std::uint32_t smallest) {
  // Each rung serves sets up to about sqrt(M / 16) backends (see the header).
  struct Rung {
    std::uint32_t size;
    std::size_t max_backends;
  };
  static constexpr Rung kRungs[] = {{251, 3},    {1021, 8},    {4093, 16},
                                    {16381, 32}, {65537, 64},  {262147, 128},
                                    {kMaglevLargestTable, 256}};
  for (const Rung& rung : kRungs)
    if (rung.size >= smallest && backends <= rung.max_backends) return rung.size;
  return 0;
}

std::uint64_t maglev_hash(std::string_view key, std::uint64_t seed) {
  std::uint64_t h = 0xCBF29CE484222325ull ^ seed;  // FNV-1a 64 offset basis, seeded
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return splitmix64(h);
}

std::vector<std::uint32_t> build_maglev_table(std::span<const MaglevBackend> backends,
                                              std::uint32_t table_size) {
  if (!is_prime(table_size))
    throw std::invalid_argument("Maglev table size " + std::to_string(table_size) +
                                " is not prime");
  if (backends.size() > table_size)
    throw std::invalid_argument("more backends (" + std::to_string(backends.size()) +
                                ") than Maglev slots (" + std::to_string(table_size) + ")");
  std::vector<std::uint32_t> table(table_size, kMaglevEmptySlot);
  if (backends.empty()) return table;

  // Fill in key order, not caller order: the paper's round-robin gives earlier backends a
  // head start, so a stable order is what makes the table a function of the set alone.
  std::vector<std::uint32_t> order(backends.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return backends[a].key < backends[b].key; });

  const std::size_t n = order.size();
  // pos[i] is permutation[i][j] = (offset + j * skip) mod M for backend i's next j, advanced
  // by one addition and a conditional subtraction instead of a multiply and a division per
  // probe (the fill probes ~M ln M times; this is most of a full programming's CPU time).
  std::vector<std::uint32_t> pos(n), skip(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& key = backends[order[i]].key;
    pos[i] = static_cast<std::uint32_t>(maglev_hash(key, kOffsetSeed) % table_size);
    skip[i] = static_cast<std::uint32_t>(maglev_hash(key, kSkipSeed) % (table_size - 1) + 1);
  }

  std::uint32_t* const slots = table.data();
  std::uint32_t filled = 0;
  while (true) {
    for (std::size_t i = 0; i < n; ++i) {
      // Walk backend i's permutation to its next unclaimed slot; prime M guarantees one
      // exists while the table is not full.
      std::uint32_t slot = pos[i];
      const std::uint32_t step = skip[i];
      while (slots[slot] != kMaglevEmptySlot) {
        slot += step;
        if (slot >= table_size) slot -= table_size;  // slot, step < M < 2^31: no overflow
      }
      slots[slot] = order[i];
      slot += step;
      if (slot >= table_size) slot -= table_size;
      pos[i] = slot;
      if (++filled == table_size) return table;
    }
  }
}

}  // namespace portway::lb
