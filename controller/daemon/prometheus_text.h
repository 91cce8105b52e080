// The Prometheus text exposition format 0.0.4 of portway's metrics: what the daemon serves on
// GET /metrics and `portway stats --prometheus` prints (docs/operations.md "Metrics"). Every
// family has # HELP and # TYPE; names are portway_*, counters end in _total. Frontend and
// backend series are labelled from Stats' owners (dataplane::attribute), so both dataplanes
// give the same label sets.
#pragma once

#include <string>
#include <string_view>

#include "daemon/daemon_status.h"
#include "dataplane/dataplane.h"

namespace portway::daemon {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

struct MetricsInput {
  const dataplane::Stats* stats = nullptr;  // nullptr: no dataplane programmed
  std::string dataplane;                    // "xdp" | "nft" | "" (none)
  std::string reason;                       // why this dataplane
  const DaemonStatus* daemon = nullptr;     // nullptr: not the daemon (`portway stats`)
};

std::string render_prometheus(const MetricsInput& in);

// A label value as the format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view v);

}  // namespace portway::daemon
