// portway stats [--state DB] [--node FILE] [--json | --prometheus]
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "cli/state_db.h"
#include "daemon/prometheus_text.h"
#include "ops/active_dataplane.h"
#include "ops/service_view.h"
#include "ops/stats_view.h"
#include "store/state_file.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway stats [--state DB] [--node FILE] [--json | --prometheus]\n"
    "Per-frontend and per-backend packets, bytes, new flows and rejects; drops by reason;\n"
    "fast path: delivery paths and flow-table events.\n";

}  // namespace

int cmd_stats(std::span<const std::string> args) {
  CommandLine cmdline("portway stats", kUsage);
  std::optional<std::string> state, node_file;
  bool json = false, prometheus = false;
  cmdline.add_state(cmdline.app(), state, "state database (finds the active dataplane)");
  cmdline.add_node(cmdline.app(), node_file, "node settings (TOML)");
  CLI::Option* json_flag =
      cmdline.add_json(cmdline.app(), json, "{\"dataplane\",\"frontends\",\"backends\",\"drops\",\"events\"}");
  cmdline.app().add_flag("--prometheus", prometheus, "print the Prometheus text exposition format")->excludes(json_flag);
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  const config::NodeSettings settings = load_node_settings(node_file);
  const ops::ActiveDataplane active = ops::find_active_dataplane(store::resolve_state_path(state), settings);
  if (!active.dataplane) throw EnvironmentError("no dataplane is installed on this node (run portway sync)");
  const std::string dp(dataplane::to_string(*active.kind));
  dataplane::Stats s = active.dataplane->stats();
  ops::attribute_to_store(s, open_state_for_read(state).get());

  if (prometheus) {
    std::cout << daemon::render_prometheus(
        {.stats = &s, .dataplane = dp, .reason = active.last_sync ? active.last_sync->reason : "", .daemon = nullptr});
    return kExitOk;
  }
  if (json) {
    std::cout << ops::dump(ops::stats_json(s, dp)) << "\n";
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
