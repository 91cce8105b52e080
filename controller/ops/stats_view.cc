#include "ops/stats_view.h"

#include "state/compile.h"

namespace portway::ops {
namespace {

nlohmann::json counters_json(const dataplane::TrafficCounters& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}, {"new_flows", c.new_flows}, {"rejected", c.rejected}};
}

}  // namespace

nlohmann::json stats_json(const dataplane::Stats& s, std::string_view dataplane) {
  nlohmann::json j{{"dataplane", dataplane}, {"frontends", nlohmann::json::object()},
                   {"backends", nlohmann::json::object()}, {"drops", s.drops}, {"events", s.events}};
  for (const auto& [k, c] : s.frontends) j["frontends"][k] = counters_json(c);
  for (const auto& [k, c] : s.backends) j["backends"][k] = counters_json(c);
  return j;
}

void attribute_to_store(dataplane::Stats& s, store::Store* store) {
  if (!store) return;
  auto tx = store->begin_read();
  dataplane::attribute(s, state::compile(state::read_snapshot(*tx)));
}

}  // namespace portway::ops
