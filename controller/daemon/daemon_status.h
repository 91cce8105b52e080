// What the daemon knows about itself, published by its reconcile loop and read by the API
// (`GET /v1/status`), the metrics endpoint and `portway status`. A plain value: the loop
// copies a new one under a mutex after every step, readers copy it out.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace portway::daemon {

// Cumulative histogram in Prometheus' sense: counts[i] = observations <= bounds[i].
struct Histogram {
  std::vector<double> bounds;        // upper bounds in seconds, ascending (no +Inf)
  std::vector<std::uint64_t> counts; // same size as bounds, cumulative
  std::uint64_t count = 0;           // all observations (the +Inf bucket)
  double sum = 0;
  void observe(double seconds);
  static Histogram seconds_default();  // 100 us .. 10 s
};

struct DaemonStatus {
  int pid = 0;
  std::int64_t started_ms = 0;          // Unix epoch ms
  std::string dataplane;                // "xdp" | "nft" | "" before the first programming
  std::string requested;                // "auto" | "xdp" | "nft"
  std::string reason;                   // why this dataplane
  std::uint64_t store_generation = 0;   // the store's, as last read
  std::uint64_t programmed_generation = 0;
  std::int64_t last_programmed_ms = 0;  // when the kernel last reached programmed_generation
  std::int64_t last_check_ms = 0;       // last full read-back (drift check)
  std::string store_error;              // why the store could not be read ("" = it could)
  std::string program_error;            // why the last programming failed ("" = it did not)
  std::string status_record_error;      // why the status record next to the store could not be
                                        // written (a full or read-only file system; "" = it could)
  bool ready = false;                   // /readyz: programmed == store, or catching up
  std::map<std::string, std::uint64_t> drift_repairs;  // kind -> repairs so far
  Histogram sync_seconds = Histogram::seconds_default();  // store change -> kernel programmed
};

}  // namespace portway::daemon
