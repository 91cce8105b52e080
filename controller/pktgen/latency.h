// Percentiles from the sink's latency histogram (portway/sink_abi.h: exact below 8 ns, then 8
// buckets per power of two).
#pragma once

#include <cstdint>
#include <optional>

#include "portway/sink_abi.h"

namespace portway::pktgen {

// The smallest latency bucket b holds, in ns (b may be PORTWAY_SINK_LATENCY_BUCKETS: the end).
std::uint64_t bucket_low(std::uint32_t b);
// The bucket of a latency: the same arithmetic as bpf/xdp_sink.bpf.c, for tests.
std::uint32_t bucket_of(std::uint64_t ns);

struct LatencySummary {
  std::uint64_t stamped = 0;
  double mean_ns = 0;
  // The upper end of the bucket where the quantile falls (an over-estimate by < 12.5%).
  std::uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
};

// nullopt when no frame carried a stamp.
std::optional<LatencySummary> summarize(const portway_sink_latency& h);

}  // namespace portway::pktgen
