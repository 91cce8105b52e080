// portway stats [--state DB] [--node FILE] [--json | --prometheus]
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/dataplane_flags.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "cli/service_view.h"

namespace portway::cli {
namespace {

const FlagSpec kFlags[] = {
    {"state", true, false, "state database (finds the active dataplane)"},
    {"node", true, false, "node settings (TOML)"},
    {"json", false, false, "print {\"dataplane\",\"frontends\",\"backends\",\"drops\",\"events\"}"},
    {"prometheus", false, false, "print the Prometheus text exposition format"},
    {"help", false, false, "show this help"},
};

constexpr const char* kUsage =
    "usage: portway stats [--state DB] [--node FILE] [--json | --prometheus]\n"
    "Per-frontend and per-backend packets, bytes, new flows and rejects; drops by reason;\n"
    "fast path: delivery paths and flow-table events.\n";

nlohmann::json counters_json(const dataplane::TrafficCounters& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}, {"new_flows", c.new_flows}, {"rejected", c.rejected}};
}

// Label values are ids portway generated (addresses, ports, Service ids); quotes and
// backslashes are escaped anyway, as the exposition format requires.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void prometheus(const dataplane::Stats& s, const std::string& dp) {
  const auto series = [&](const char* kind, const std::map<std::string, dataplane::TrafficCounters>& m) {
    for (const auto& [name, c] : m) {
      const std::string l = "{dataplane=\"" + dp + "\"," + kind + "=\"" + label(name) + "\"}";
      std::cout << "portway_" << kind << "_packets_total" << l << " " << c.packets << "\n"
                << "portway_" << kind << "_bytes_total" << l << " " << c.bytes << "\n"
                << "portway_" << kind << "_new_flows_total" << l << " " << c.new_flows << "\n"
                << "portway_" << kind << "_rejected_total" << l << " " << c.rejected << "\n";
    }
  };
  series("frontend", s.frontends);
  series("backend", s.backends);
  for (const auto& [reason, n] : s.drops)
    std::cout << "portway_drops_total{dataplane=\"" << dp << "\",reason=\"" << label(reason) << "\"} " << n << "\n";
  for (const auto& [event, n] : s.events)
    std::cout << "portway_events_total{dataplane=\"" << dp << "\",event=\"" << label(event) << "\"} " << n << "\n";
}

}  // namespace

int cmd_stats(std::span<const std::string> args) {
  const ParsedArgs parsed = parse_args(args, kFlags);
  if (parsed.has("help")) {
    std::cout << kUsage << describe_flags(kFlags);
    return kExitOk;
  }
  if (!parsed.positional().empty()) throw UsageError("stats takes no arguments");
  if (parsed.has("json") && parsed.has("prometheus")) throw UsageError("--json and --prometheus exclude each other");
  const config::NodeSettings settings = load_node_settings(parsed.value("node"));
  ActiveDataplane active = find_active_dataplane(parsed, settings);
  if (!active.dataplane) throw EnvironmentError("no dataplane is installed on this node (run portway sync)");
  const std::string dp(dataplane::to_string(*active.kind));
  const dataplane::Stats s = active.dataplane->stats();

  if (parsed.has("prometheus")) {
    prometheus(s, dp);
    return kExitOk;
  }
  if (parsed.has("json")) {
    nlohmann::json j{{"dataplane", dp}, {"frontends", nlohmann::json::object()},
                     {"backends", nlohmann::json::object()}, {"drops", s.drops},
                     {"events", s.events}};
    for (const auto& [k, c] : s.frontends) j["frontends"][k] = counters_json(c);
    for (const auto& [k, c] : s.backends) j["backends"][k] = counters_json(c);
    std::cout << dump(j) << "\n";
    return kExitOk;
  }
  std::cout << "dataplane: " << dp << "\n";
  for (const auto& [k, c] : s.frontends)
    std::cout << "frontend " << k << ": " << c.packets << " packets, " << c.bytes << " bytes, "
              << c.new_flows << " new flows, " << c.rejected << " rejected\n";
  for (const auto& [k, c] : s.backends)
    std::cout << "backend " << k << ": " << c.packets << " packets, " << c.bytes << " bytes, "
              << c.new_flows << " new flows\n";
  for (const auto& [reason, n] : s.drops)
    if (n) std::cout << "drop " << reason << ": " << n << "\n";
  for (const auto& [event, n] : s.events)
    if (n) std::cout << "event " << event << ": " << n << "\n";
  return kExitOk;
}

}  // namespace portway::cli
