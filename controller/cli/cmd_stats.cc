// portway stats [--state DB] [--node FILE] [--json | --prometheus]
#include <iostream>

#include "cli/args.h"
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

const FlagSpec kFlags[] = {
    {"state", true, false, "state database (finds the active dataplane)"},
    {"node", true, false, "node settings (TOML)"},
    {"json", false, false, "print {\"dataplane\",\"frontends\",\"backends\",\"drops\",\"events\"}"},
    {"prometheus", false, false, "print the Prometheus text exposition format"},
    {"rate", false, false, "per-second rates: two readings --interval apart"},
    {"delta", false, false, "what changed between two readings --interval apart"},
    {"interval", true, false, "seconds between the readings of --rate/--delta (default 1, at most 60)"},
    {"help", false, false, "show this help"},
};

constexpr const char* kUsage =
    "usage: portway stats [--state DB] [--node FILE] [--rate | --delta] [--interval S]\n"
    "                     [--json | --prometheus]\n"
    "Packets, bytes, new flows and rejects of each Service's frontends, its backends nested\n"
    "under it; drops by reason; fast path: delivery paths and flow-table events. Totals since\n"
    "the dataplane was installed (never zeroed), or --rate / --delta over --interval.\n";

}  // namespace

int cmd_stats(std::span<const std::string> args) {
  const ParsedArgs parsed = parse_args(args, kFlags);
  if (parsed.has("help")) {
    std::cout << kUsage << describe_flags(kFlags);
    return kExitOk;
  }
  if (!parsed.positional().empty()) throw UsageError("stats takes no arguments");
  if (parsed.has("json") && parsed.has("prometheus")) throw UsageError("--json and --prometheus exclude each other");
  if (parsed.has("rate") && parsed.has("delta")) throw UsageError("--rate and --delta exclude each other");
  const ops::CounterView view = parsed.has("rate")    ? ops::CounterView::rate
                                : parsed.has("delta") ? ops::CounterView::delta
                                                      : ops::CounterView::total;
  if (view != ops::CounterView::total && parsed.has("prometheus"))
    throw UsageError("--prometheus prints totals (Prometheus computes rates): drop --rate/--delta");
  if (parsed.has("interval") && view == ops::CounterView::total) throw UsageError("--interval needs --rate or --delta");
  double interval = 1.0;
  if (parsed.has("interval")) {
    const auto given = ops::parse_interval_seconds(*parsed.value("interval"));
    if (!given) throw UsageError("--interval " + *parsed.value("interval") + ": give seconds, more than 0 and at most 60");
    interval = *given;
  }
  const config::NodeSettings settings = load_node_settings(parsed.value("node"));
  const ops::ActiveDataplane active =
      ops::find_active_dataplane(store::resolve_state_path(parsed.value("state")), settings);
  if (!active.dataplane) throw EnvironmentError("no dataplane is installed on this node (run portway sync)");
  const std::string dp(dataplane::to_string(*active.kind));
  const auto store = open_state_for_read(parsed.value("state"));
  const ops::CounterReading reading =
      ops::read_counters(*active.dataplane, store.get(), view == ops::CounterView::total ? 0.0 : interval);
  const dataplane::Stats& s = reading.stats;

  if (parsed.has("prometheus")) {
    std::cout << daemon::render_prometheus(
        {.stats = &s, .dataplane = dp, .reason = active.last_sync ? active.last_sync->reason : "", .daemon = nullptr});
    return kExitOk;
  }
  if (parsed.has("json")) {
    std::cout << ops::dump(ops::stats_json(s, dp, view, reading.interval)) << "\n";
    return kExitOk;
  }
  std::cout << ops::stats_tree_text(s, dp, view, reading.interval);
  return kExitOk;
}

}  // namespace portway::cli
