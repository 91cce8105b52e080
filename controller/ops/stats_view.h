// What `portway stats --json` prints and `GET /v1/stats` answers (docs/api.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dataplane/dataplane.h"
#include "ops/stats_tree.h"
#include "store/store.h"

namespace portway::ops {

// {"dataplane","view","interval_s","frontends":{KEY:{"packets","bytes","new_flows","rejected"}},
//  "backends":{...},"drops":{REASON:N},"events":{EVENT:N},"services":[...]}
// "view": "total" | "delta" | "rate"; "interval_s" the measured time between the two readings
// (null for totals). The flat maps hold integers (totals, or the change over the interval);
// "services" is stats_tree_json (stats_tree.h): per second under "rate".
nlohmann::json stats_json(const dataplane::Stats& s, std::string_view dataplane,
                          CounterView view = CounterView::total,
                          std::chrono::duration<double> interval = std::chrono::duration<double>(0));

// Counters as `portway stats` shows them: one reading attributed to the store's Services
// (interval 0), or the change between two readings `interval_s` apart, with the time that
// really passed between them (what a rate divides by).
struct CounterReading {
  dataplane::Stats stats;
  std::chrono::duration<double> interval{0};
};
CounterReading read_counters(dataplane::Dataplane& dp, store::Store* store, double interval_s);

// "--interval" seconds: a number in (0, 60]; nullopt otherwise.
std::optional<double> parse_interval_seconds(const std::string& text);

// Attributes `s` (dataplane::attribute) to the Services the store compiles to: how a command
// without the daemon's programmed state names Services. No store: nothing attributed.
void attribute_to_store(dataplane::Stats& s, store::Store* store);

}  // namespace portway::ops
