// The counting sink of `portway pktgen sink`: bpf/xdp_sink.bpf.c attached to one interface,
// counting (and dropping) what arrives, with the generator's latency and the distinct flows
// when asked. Detached when the object goes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "pktgen/latency.h"
#include "portway/sink_abi.h"

namespace portway::pktgen {

struct SinkOptions {
  bool latency = true;       // read the generator's stamp
  bool flows = false;        // record distinct 5-tuples (up to PORTWAY_SINK_FLOW_ENTRIES)
  bool generic = false;      // generic (skb) XDP instead of the driver's
};

struct SinkReading {
  std::uint64_t packets = 0, bytes = 0, runts = 0;
  std::optional<LatencySummary> latency;  // nullopt when no frame carried a stamp
  std::optional<std::uint64_t> flows;     // distinct 5-tuples, when SinkOptions::flows
};

class Sink {
 public:
  // Loads and attaches to `ifindex` in the calling thread's namespace. Throws loader::Error
  // (EBUSY when the interface has another XDP program).
  Sink(unsigned ifindex, const SinkOptions& options);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  [[nodiscard]] std::uint64_t packets() const;  // cheap: the counters only
  [[nodiscard]] SinkReading read() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portway::pktgen
