// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of M slots, each
// naming one backend, such that every backend owns ~M/N slots and adding or removing one
// backend reassigns only ~1/N of the slots. Built here in C++, read by the BPF program (and
// mirrored in the nftables dataplane); a flow's slot is hash(5-tuple) scaled to [0, M).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portway::lb {

// A backend as Maglev sees it: a stable identity (the same backend must hash the same way
// across restarts and nodes, so this is e.g. "198.18.1.2" or a sandbox id, never an index).
struct MaglevBackend {
  std::string key;
  bool operator==(const MaglevBackend&) const = default;
};

inline constexpr std::uint32_t kMaglevEmptySlot = 0xFFFFFFFFu;

// Returns M entries, each an index into `backends` (kMaglevEmptySlot for every slot when
// `backends` is empty). `table_size` must be prime (the permutation needs it to visit every
// slot); throws std::invalid_argument otherwise, or when there are more backends than slots.
// Deterministic: the same backends in any order give the same backend per slot.
std::vector<std::uint32_t> build_maglev_table(std::span<const MaglevBackend> backends,
                                              std::uint32_t table_size);

// The two per-backend hashes that define its permutation (offset in [0, M), skip in
// [1, M-1]). Exposed for tests; stable across builds and platforms (FNV-1a 64 with two
// different seeds, finished with the splitmix64 mixer).
std::uint64_t maglev_hash(std::string_view key, std::uint64_t seed);

bool is_prime(std::uint32_t n);

// Table size for a set of `backends`, per backend set: the smallest prime rung
// (251, 1021, 4093, 16381, 65537, 262147, 1048573) that is >= `smallest` and about
// 16 N^2 or more (rung M serves up to N = sqrt(M / 16) backends).
//
// Why N^2: Maglev's fill is perfectly balanced (slot counts differ by at most one), but the
// share of slots that move when one backend is added or removed exceeds the ideal 1/N by a
// term that grows with N^2/M (measured: M = 4093 gives 1.25/N at N = 16 and 1.71/N at
// N = 32; M = 65537 gives 1.37/N at N = 64). M ~ 16 N^2 keeps it under ~1.4/N, inside the
// 1.5/N target, while a typical node-local set (N <= 16) stays at 16 KiB. Returns 0 when
// even the largest rung is too small for N (N > 256): callers cap the set or accept it.
std::uint32_t maglev_table_size_for(std::size_t backends, std::uint32_t smallest);

inline constexpr std::uint32_t kMaglevLargestTable = 1048573;

}  // namespace portway::lb
