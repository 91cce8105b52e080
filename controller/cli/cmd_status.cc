// portway status [--state DB] [--node FILE] [--json]
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "cli/state_db.h"
#include "ops/service_view.h"
#include "ops/status_text.h"
#include "ops/status_view.h"
#include "store/state_file.h"

namespace portway::cli {
namespace {

const FlagSpec kFlags[] = {
    {"state", true, false, "state database whose last sync is reported"},
    {"node", true, false, "node settings (TOML): where the fast path is pinned, which interfaces"},
    {"json", false, false, "print one JSON object"},
    {"help", false, false, "show this help"},
};

constexpr const char* kUsage =
    "usage: portway status [--state DB] [--node FILE] [--json]\n"
    "Which dataplane is active (as the kernel shows it: the fast path's pins, the nft table in\n"
    "this network namespace) and why, attached interfaces, map fill levels (the fast path's\n"
    "flow table too, and how many flows it evicted when full), the last sync's age; the store's\n"
    "generation against the one the kernel holds, and the daemon's state when one runs.\n";

}  // namespace

int cmd_status(std::span<const std::string> args) {
  const ParsedArgs parsed = parse_args(args, kFlags);
  if (parsed.has("help")) {
    std::cout << kUsage << describe_flags(kFlags);
    return kExitOk;
  }
  if (!parsed.positional().empty()) throw UsageError("status takes no arguments");
  const config::NodeSettings settings = load_node_settings(parsed.value("node"));
  const ops::ActiveDataplane active =
      ops::find_active_dataplane(store::resolve_state_path(parsed.value("state")), settings);

  nlohmann::json j = ops::status_json(settings, active);
  const std::int64_t now = now_ms();
  ops::add_generations(j, store::resolve_state_path(parsed.value("state")), active, now);
  if (parsed.has("json")) {
    std::cout << ops::dump(j) << "\n";
    return kExitOk;
  }
  std::cout << ops::status_text(j, now);
  return kExitOk;
}

}  // namespace portway::cli
