// portway status [--state DB] [--node FILE] [--json]
#include <cstdio>
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "cli/state_db.h"
#include "ops/service_view.h"
#include "ops/status_view.h"
#include "store/state_file.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway status [--state DB] [--node FILE] [--json]\n"
    "Which dataplane is active and why, attached interfaces, map fill levels (the fast path's\n"
    "flow table too, and how many flows it evicted when full), last sync; the store's\n"
    "generation against the one the kernel holds, and the daemon's state when one runs.\n";

std::string milliseconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", seconds * 1000);
  return buf;
}

std::string ago(std::int64_t then_ms, std::int64_t now) {
  if (then_ms <= 0) return "never";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f s ago", static_cast<double>(now - then_ms) / 1000.0);
  return buf;
}

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
  std::cout << "active dataplane: " << (active.kind ? dataplane::to_string(*active.kind) : "none") << "\n";
  if (active.last_sync) {
    std::cout << "last sync: " << active.last_sync->dataplane << " (" << active.last_sync->reason
              << "), " << active.last_sync->changes << " changes, at " << active.last_sync->last_sync_ms
              << " ms since the epoch\n";
  } else {
    std::cout << "last sync: none recorded for this state database\n";
  }
  const nlohmann::json& sg = j["store_generation"];
  std::cout << "store generation: "
            << (sg.is_number() ? sg.dump() : sg.is_null() ? std::string("none (no state database)")
                                                          : "unreadable: " + sg["error"].get<std::string>())
            << "\n";
  if (active.last_sync) {
    const auto& ls = *active.last_sync;
    std::cout << "programmed generation: " << ls.programmed_generation << ", "
              << ago(ls.last_programmed_ms, now)
              << (sg.is_number() && sg.get<std::uint64_t>() != ls.programmed_generation ? " (behind the store)" : "")
              << "\n";
  }
  if (!j["daemon"].is_null()) {
    const auto& d = j["daemon"];
    const auto& ls = *active.last_sync;
    std::cout << "daemon: pid " << ls.daemon_pid << (d["running"].get<bool>() ? " running" : " not running")
              << (ls.ready ? ", ready" : ", not ready") << "; last check " << ago(ls.last_check_ms, now)
              << "; last change reached the kernel in " << milliseconds(ls.last_change_seconds) << " ms\n";
    if (!ls.store_error.empty()) std::cout << "daemon store error: " << ls.store_error << "\n";
    if (!ls.program_error.empty()) std::cout << "daemon programming error: " << ls.program_error << "\n";
    for (const auto& [kind, count] : ls.drift_repairs) std::cout << "drift repaired: " << kind << " x " << count << "\n";
  }
  for (const auto& a : j["attachments"])
    std::cout << "attached: " << a["interface"].get<std::string>() << " " << a["hook"].get<std::string>()
              << " (" << a["mode"].get<std::string>() << ")\n";
  for (const auto& [name, fill] : j["fill"].items())
    std::cout << "map " << name << ": " << fill["used"] << " / " << fill["capacity"] << "\n";
  if (j.contains("flows_evicted")) {
    if (j["flows_evicted"].is_null())
      std::cout << "flows evicted: not counted (pins of an older version; the next sync reloads)\n";
    else
      std::cout << "flows evicted (flow table full): " << j["flows_evicted"] << "\n";
  }
  return kExitOk;
}

}  // namespace portway::cli
