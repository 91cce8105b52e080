#include "pktgen/latency.h"

#include <bit>

namespace portway::pktgen {
namespace {
constexpr std::uint32_t kSub = 1u << PORTWAY_SINK_LATENCY_SUB_BITS;
}

std::uint64_t bucket_low(std::uint32_t b) {
  if (b < kSub) return b;
  const std::uint32_t msb = b / kSub + PORTWAY_SINK_LATENCY_SUB_BITS - 1;
  return (std::uint64_t{kSub} + b % kSub) << (msb - PORTWAY_SINK_LATENCY_SUB_BITS);
}

std::uint32_t bucket_of(std::uint64_t ns) {
  if (ns < kSub) return static_cast<std::uint32_t>(ns);
  const std::uint32_t msb = static_cast<std::uint32_t>(std::bit_width(ns) - 1);
  const std::uint32_t b = (msb - PORTWAY_SINK_LATENCY_SUB_BITS + 1) * kSub +
                          static_cast<std::uint32_t>((ns >> (msb - PORTWAY_SINK_LATENCY_SUB_BITS)) & (kSub - 1));
  return b < PORTWAY_SINK_LATENCY_BUCKETS ? b : PORTWAY_SINK_LATENCY_BUCKETS - 1;
}

std::optional<LatencySummary> summarize(const portway_sink_latency& h) {
  std::uint64_t total = 0;
  for (const std::uint64_t n : h.buckets) total += n;
  if (total == 0) return std::nullopt;
  LatencySummary s;
  s.stamped = h.stamped;
  s.mean_ns = static_cast<double>(h.sum_ns) / static_cast<double>(total);
  const auto quantile = [&](double q) {
    // The first bucket at which the running count reaches q of the total.
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::uint32_t b = 0; b < PORTWAY_SINK_LATENCY_BUCKETS; ++b) {
      seen += h.buckets[b];
      if (seen >= rank) return bucket_low(b + 1) - 1;
    }
    return bucket_low(PORTWAY_SINK_LATENCY_BUCKETS) - 1;
  };
  s.p50_ns = quantile(0.5);
  s.p90_ns = quantile(0.9);
  s.p99_ns = quantile(0.99);
  s.p999_ns = quantile(0.999);
  s.max_ns = quantile(1.0);
  return s;
}

}  // namespace portway::pktgen
