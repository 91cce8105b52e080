// `portway stats` nested as `ipvsadm -Ln --stats` nests real servers under virtual services:
// each Service with its frontends and, under them, its backends (docs/operations.md "Reading a
// node"). Backends sit under the Service, not under one frontend: both dataplanes count a
// member across all the Service's ports. Counters are placed with the owners
// dataplane::attribute() filled in (the same mapping the daemon's metrics label with).
//
// Rates and deltas come from two readings `interval` apart: the kernel's counters are never
// zeroed (Prometheus and the daemon's metrics take them as monotonic), so "since when" is
// always the caller's choice of interval.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dataplane/dataplane.h"

namespace portway::ops {

enum class CounterView { total, delta, rate };

// after - before, key by key (owners from `after`). A counter lower than before (maps
// recreated between the readings) counts from zero.
dataplane::Stats stats_delta(const dataplane::Stats& before, const dataplane::Stats& after);

// {"services":[{"service","frontends":[{"frontend","port","protocol","counters"}],
//  "backends":[{"backend","address","counters"}]}]}; "service" null for counters no Service
// owns. counters: {"packets","bytes","new_flows","rejected"}, integers for total and delta,
// per second (floating point) for rate, where `s` holds the deltas over `interval`.
nlohmann::json stats_tree_json(const dataplane::Stats& s, CounterView view, std::chrono::duration<double> interval);

// The nested table with drops and events below it.
std::string stats_tree_text(const dataplane::Stats& s, std::string_view dataplane, CounterView view,
                            std::chrono::duration<double> interval);

}  // namespace portway::ops
