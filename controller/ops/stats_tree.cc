#include "ops/stats_tree.h"

#include <cstdio>
#include <map>
#include <optional>

#include "ops/table_text.h"

namespace portway::ops {
namespace {

using nlohmann::json;

std::uint64_t minus(std::uint64_t after, std::uint64_t before) { return after >= before ? after - before : after; }

dataplane::TrafficCounters minus(const dataplane::TrafficCounters& a, const dataplane::TrafficCounters& b) {
  return {minus(a.packets, b.packets), minus(a.bytes, b.bytes), minus(a.new_flows, b.new_flows),
          minus(a.rejected, b.rejected)};
}

template <class Map>
Map delta_of(const Map& before, const Map& after) {
  Map out;
  for (const auto& [k, v] : after) {
    const auto it = before.find(k);
    out[k] = it == before.end() ? v : minus(v, it->second);
  }
  return out;
}

struct Scale {
  CounterView view;
  double seconds;
  json operator()(std::uint64_t v) const {
    if (view != CounterView::rate) return v;
    return seconds > 0 ? static_cast<double>(v) / seconds : 0.0;
  }
  std::string text(std::uint64_t v) const {
    if (view != CounterView::rate) return std::to_string(v);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", seconds > 0 ? static_cast<double>(v) / seconds : 0.0);
    return buf;
  }
};

json counters(const dataplane::TrafficCounters& c, const Scale& scale) {
  return {{"packets", scale(c.packets)}, {"bytes", scale(c.bytes)}, {"new_flows", scale(c.new_flows)},
          {"rejected", scale(c.rejected)}};
}

// Service id ("" for none) -> its frontend and backend keys, in key order.
struct Group {
  std::vector<std::string> frontends, backends;
};

std::map<std::string, Group> group(const dataplane::Stats& s) {
  std::map<std::string, Group> out;
  for (const auto& [k, c] : s.frontends) {
    const auto it = s.frontend_owners.find(k);
    out[it == s.frontend_owners.end() ? "" : it->second.service].frontends.push_back(k);
  }
  for (const auto& [k, c] : s.backends) {
    const auto it = s.backend_owners.find(k);
    out[it == s.backend_owners.end() ? "" : it->second.service].backends.push_back(k);
  }
  return out;
}

std::string backend_address(const dataplane::Stats& s, const std::string& key) {
  const auto it = s.backend_owners.find(key);
  if (it != s.backend_owners.end()) return it->second.address;
  const auto space = key.rfind(' ');
  return space == std::string::npos ? key : key.substr(space + 1);
}

}  // namespace

dataplane::Stats stats_delta(const dataplane::Stats& before, const dataplane::Stats& after) {
  dataplane::Stats out;
  out.frontends = delta_of(before.frontends, after.frontends);
  out.backends = delta_of(before.backends, after.backends);
  out.drops = delta_of(before.drops, after.drops);
  out.events = delta_of(before.events, after.events);
  out.frontend_owners = after.frontend_owners;
  out.backend_owners = after.backend_owners;
  return out;
}

json stats_tree_json(const dataplane::Stats& s, CounterView view, std::chrono::duration<double> interval) {
  const Scale scale{view, interval.count()};
  json services = json::array();
  for (const auto& [service, g] : group(s)) {
    json fes = json::array(), bes = json::array();
    for (const auto& k : g.frontends) {
      const auto owner = s.frontend_owners.find(k);
      const bool owned = owner != s.frontend_owners.end();
      fes.push_back({{"frontend", k},
                     {"port", owned ? json(owner->second.port) : json(nullptr)},
                     {"protocol", owned ? json(owner->second.protocol) : json(nullptr)},
                     {"counters", counters(s.frontends.at(k), scale)}});
    }
    for (const auto& k : g.backends)
      bes.push_back({{"backend", k}, {"address", backend_address(s, k)}, {"counters", counters(s.backends.at(k), scale)}});
    services.push_back({{"service", service.empty() ? json(nullptr) : json(service)},
                        {"frontends", std::move(fes)},
                        {"backends", std::move(bes)}});
  }
  return {{"services", std::move(services)}};
}

std::string stats_tree_text(const dataplane::Stats& s, std::string_view dataplane, CounterView view,
                            std::chrono::duration<double> interval) {
  const Scale scale{view, interval.count()};
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", interval.count());
  std::string out = "dataplane: " + std::string(dataplane);
  if (view == CounterView::rate) out += " (per second, over " + std::string(secs) + ")";
  if (view == CounterView::delta) out += " (change over " + std::string(secs) + ")";
  out += "\n";
  std::vector<TextRow> rows{{"SERVICE / FRONTEND / -> BACKEND", "PACKETS", "BYTES", "NEW FLOWS", "REJECTED"}};
  const auto cells = [&](TextRow row, const dataplane::TrafficCounters& c, bool rejected) {
    row.insert(row.end(), {scale.text(c.packets), scale.text(c.bytes), scale.text(c.new_flows)});
    if (rejected) row.push_back(scale.text(c.rejected));
    return row;
  };
  for (const auto& [service, g] : group(s)) {
    rows.push_back({service.empty() ? "(no Service)" : service});
    for (const auto& k : g.frontends) {
      const auto owner = s.frontend_owners.find(k);
      std::string label = "  " + k;
      if (owner != s.frontend_owners.end() && !owner->second.port.empty()) label += " (" + owner->second.port + ")";
      rows.push_back(cells({label}, s.frontends.at(k), true));
    }
    for (const auto& k : g.backends) rows.push_back(cells({"    -> " + backend_address(s, k)}, s.backends.at(k), false));
  }
  out += table_text(rows);
  std::vector<TextRow> drops{{"DROP REASON", "PACKETS"}};
  for (const auto& [reason, n] : s.drops)
    if (n) drops.push_back({reason, scale.text(n)});
  if (drops.size() > 1) out += "\n" + table_text(drops);
  std::vector<TextRow> events{{"EVENT", "COUNT"}};
  for (const auto& [event, n] : s.events)
    if (n) events.push_back({event, scale.text(n)});
  if (events.size() > 1) out += "\n" + table_text(events);
  return out;
}

}  // namespace portway::ops
