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
#include "ops/stats_tree.h"
#include "ops/stats_view.h"
#include "store/state_file.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway stats [--state DB] [--node FILE] [--rate | --delta] [--interval S]\n"
    "                     [--json | --prometheus]\n"
    "Packets, bytes, new flows and rejects of each Service's frontends, its backends nested\n"
    "under it; drops by reason; fast path: delivery paths and flow-table events. Totals since\n"
    "the dataplane was installed (never zeroed), or --rate / --delta over --interval.\n";

}  // namespace

int cmd_stats(std::span<const std::string> args) {
  CommandLine cmdline("portway stats", kUsage);
  std::optional<std::string> state, node_file, interval_text;
  bool json = false, prometheus = false, rate = false, delta = false;
  cmdline.add_state(cmdline.app(), state, "state database (finds the active dataplane)");
  cmdline.add_node(cmdline.app(), node_file, "node settings (TOML)");
  CLI::Option* json_flag =
      cmdline.add_json(cmdline.app(), json, "{\"dataplane\",\"view\",\"interval_s\",\"services\",\"frontends\",\"backends\",\"drops\",\"events\"}");
  cmdline.app().add_flag("--prometheus", prometheus, "print the Prometheus text exposition format")->excludes(json_flag);
  CLI::Option* rate_flag = cmdline.app().add_flag("--rate", rate, "per-second rates: two readings --interval apart");
  cmdline.app().add_flag("--delta", delta, "what changed between two readings --interval apart")->excludes(rate_flag);
  cmdline.app().add_option("--interval", interval_text, "seconds between the readings of --rate/--delta (default 1, at most 60)");
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  const ops::CounterView view = rate ? ops::CounterView::rate : delta ? ops::CounterView::delta : ops::CounterView::total;
  if (view != ops::CounterView::total && prometheus)
    throw UsageError("--prometheus prints totals (Prometheus computes rates): drop --rate/--delta");
  if (interval_text && view == ops::CounterView::total) throw UsageError("--interval needs --rate or --delta");
  double interval = 1.0;
  if (interval_text) {
    const auto given = ops::parse_interval_seconds(*interval_text);
    if (!given) throw UsageError("--interval " + *interval_text + ": give seconds, more than 0 and at most 60");
    interval = *given;
  }
  const config::NodeSettings settings = load_node_settings(node_file);
  const ops::ActiveDataplane active = ops::find_active_dataplane(store::resolve_state_path(state), settings);
  if (!active.dataplane) throw EnvironmentError("no dataplane is installed on this node (run portway sync)");
  const std::string dp(dataplane::to_string(*active.kind));
  const auto store = open_state_for_read(state);
  const ops::CounterReading reading =
      ops::read_counters(*active.dataplane, store.get(), view == ops::CounterView::total ? 0.0 : interval);
  const dataplane::Stats& s = reading.stats;

  if (prometheus) {
    std::cout << daemon::render_prometheus(
        {.stats = &s, .dataplane = dp, .reason = active.last_sync ? active.last_sync->reason : "", .daemon = nullptr});
    return kExitOk;
  }
  if (json) {
    std::cout << ops::dump(ops::stats_json(s, dp, view, reading.interval)) << "\n";
    return kExitOk;
  }
  std::cout << ops::stats_tree_text(s, dp, view, reading.interval);
  return kExitOk;
}

}  // namespace portway::cli
