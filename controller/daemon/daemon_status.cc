#include "daemon/daemon_status.h"

namespace portway::daemon {

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) ++counts[i];
  ++count;
  sum += seconds;
}

Histogram Histogram::seconds_default() {
  Histogram h;
  h.bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  h.counts.assign(h.bounds.size(), 0);
  return h;
}

}  // namespace portway::daemon
