// portway status [--state DB] [--node FILE] [--json]
#include <iostream>

#include "cli/command_line.h"
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

constexpr const char* kUsage =
    "usage: portway status [--state DB] [--node FILE] [--json]\n"
    "Which dataplane is active (as the kernel shows it: the fast path's pins, the nft table in\n"
    "this network namespace) and why, attached interfaces, map fill levels (the fast path's\n"
    "flow table too, and how many flows it evicted when full), the last sync's age; the store's\n"
    "generation against the one the kernel holds, and the daemon's state when one runs.\n";

}  // namespace

int cmd_status(std::span<const std::string> args) {
  CommandLine cmdline("portway status", kUsage);
  std::optional<std::string> state, node_file;
  bool json = false;
  cmdline.add_state(cmdline.app(), state, "state database whose last sync is reported");
  cmdline.add_node(cmdline.app(), node_file, "node settings (TOML): where the fast path is pinned, which interfaces");
  cmdline.add_json(cmdline.app(), json, "one JSON object");
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  const config::NodeSettings settings = load_node_settings(node_file);
  const ops::ActiveDataplane active = ops::find_active_dataplane(store::resolve_state_path(state), settings);

  nlohmann::json j = ops::status_json(settings, active);
  const std::int64_t now = now_ms();
  ops::add_generations(j, store::resolve_state_path(state), active, now);
  if (json) {
    std::cout << ops::dump(j) << "\n";
    return kExitOk;
  }
  std::cout << ops::status_text(j, now);
  return kExitOk;
}

}  // namespace portway::cli
