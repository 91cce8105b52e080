#include "ops/stats_view.h"

#include <thread>

#include "state/compile.h"

namespace portway::ops {
namespace {

nlohmann::json counters_json(const dataplane::TrafficCounters& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}, {"new_flows", c.new_flows}, {"rejected", c.rejected}};
}

}  // namespace

nlohmann::json stats_json(const dataplane::Stats& s, std::string_view dataplane, CounterView view,
                          std::chrono::duration<double> interval) {
  static constexpr const char* kViews[] = {"total", "delta", "rate"};
  nlohmann::json j{{"dataplane", dataplane},
                   {"view", kViews[static_cast<int>(view)]},
                   {"interval_s", view == CounterView::total ? nlohmann::json(nullptr) : nlohmann::json(interval.count())},
                   {"frontends", nlohmann::json::object()},
                   {"backends", nlohmann::json::object()},
                   {"drops", s.drops},
                   {"events", s.events}};
  for (const auto& [k, c] : s.frontends) j["frontends"][k] = counters_json(c);
  for (const auto& [k, c] : s.backends) j["backends"][k] = counters_json(c);
  j["services"] = stats_tree_json(s, view, interval)["services"];
  return j;
}

CounterReading read_counters(dataplane::Dataplane& dp, store::Store* store, double interval_s) {
  // The store is compiled once: both readings are placed with the same Services.
  const state::DataplaneState names = store ? state::compile(state::read_snapshot(*store->begin_read())) : state::DataplaneState{};
  const auto read = [&] {
    dataplane::Stats s = dp.stats();
    if (store) dataplane::attribute(s, names);
    return s;
  };
  CounterReading out;
  if (interval_s <= 0) {
    out.stats = read();
    return out;
  }
  const dataplane::Stats before = read();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(interval_s));
  const dataplane::Stats after = read();
  out.interval = std::chrono::steady_clock::now() - t0;
  out.stats = stats_delta(before, after);
  return out;
}

std::optional<double> parse_interval_seconds(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !(v > 0) || v > 60) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void attribute_to_store(dataplane::Stats& s, store::Store* store) {
  if (!store) return;
  auto tx = store->begin_read();
  dataplane::attribute(s, state::compile(state::read_snapshot(*tx)));
}

}  // namespace portway::ops
