// How many frames one send call of an unpaced generator thread asks for.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace portway::pktgen {

// The first call's size: a few milliseconds at the rates seen here.
inline constexpr std::uint64_t kFirstSendChunk = 8192;
inline constexpr std::uint64_t kMinSendChunk = 1024;
inline constexpr std::uint64_t kMaxSendChunk = std::uint64_t{1} << 20;
// What one call should last. Each BPF_PROG_RUN call has a fixed cost (the kernel swaps the
// program into the XDP dispatcher and back, patching kernel text on every CPU: ~0.2 ms on the
// development VM, docs/performance.md "The generator's calls"), which 20 ms of frames makes
// ~1%; and a thread sees the deadline and a stop about this often.
inline constexpr std::chrono::milliseconds kSendCallTarget{20};

// The size of the next call after one that sent `frames` in `took`: as many frames as fit in
// kSendCallTarget at that call's rate, within [kMinSendChunk, kMaxSendChunk].
constexpr std::uint64_t next_send_chunk(std::uint64_t frames, std::chrono::nanoseconds took) {
  if (took.count() <= 0) return kMaxSendChunk;
  const long double fit = static_cast<long double>(frames) *
                          static_cast<long double>(std::chrono::nanoseconds(kSendCallTarget).count()) /
                          static_cast<long double>(took.count());
  if (fit >= static_cast<long double>(kMaxSendChunk)) return kMaxSendChunk;
  return std::max(kMinSendChunk, static_cast<std::uint64_t>(fit));
}

}  // namespace portway::pktgen
