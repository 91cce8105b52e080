// portway dump frontends|backends|flows|drops [--state DB] [--node FILE] [--json]
#include <iostream>
#include <optional>
#include <string>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "cli/state_db.h"
#include "ops/active_dataplane.h"
#include "ops/dump_view.h"
#include "ops/service_view.h"
#include "store/state_file.h"

namespace portway::cli {

int cmd_dump(std::span<const std::string> args) {
  CommandLine cl("portway dump",
                 "usage: portway dump frontends|backends|flows|drops [--state DB] [--node FILE] [--json]\n"
                 "What the kernel holds, read from the active dataplane (the fast path's pinned maps; the\n"
                 "nft table and kernel conntrack), each row named after its Service:\n"
                 "  frontends  service addresses and node ports, target port, backend count\n"
                 "  backends   members of each backend set and their state\n"
                 "  flows      translated flows (TCP and UDP) with their backend, state and age\n"
                 "  drops      packets dropped or rejected, by reason\n"
                 "Exit: 0, or 2 on a usage or environment error (no dataplane installed).\n");
  std::string what;
  std::optional<std::string> state, node;
  bool json = false;
  cl.app()
      .add_option("what", what, "frontends, backends, flows or drops")
      ->required()
      ->check(CLI::IsMember({"frontends", "backends", "flows", "drops"}));
  cl.app().add_option("--state", state, "state database: names the Services and finds the last sync");
  cl.app().add_option("--node", node, "node settings (TOML): where the fast path is pinned");
  cl.app().add_flag("--json", json, "print one JSON object");
  if (const auto stop = cl.parse(args)) return *stop;

  const config::NodeSettings settings = load_node_settings(node);
  const ops::ActiveDataplane active = ops::find_active_dataplane(store::resolve_state_path(state), settings);
  if (!active.dataplane)
    throw EnvironmentError("no dataplane is installed on this node" +
                           (active.kernel_note.empty() ? std::string(" (run portway sync)") : ": " + active.kernel_note));
  const std::string dp(dataplane::to_string(*active.kind));
  if (what == "drops") {
    const auto drops = active.dataplane->stats().drops;
    std::cout << (json ? ops::dump(ops::drops_json(dp, drops)) + "\n" : ops::drops_text(drops));
    return kExitOk;
  }
  const ops::KernelDump d = ops::read_kernel_dump(active, open_state_for_read(state).get());
  if (what == "frontends") {
    std::cout << (json ? ops::dump(ops::frontends_json(d)) + "\n" : ops::frontends_text(d));
  } else if (what == "backends") {
    std::cout << (json ? ops::dump(ops::backends_json(d)) + "\n" : ops::backends_text(d));
  } else {
    const auto flows = ops::portway_flows(d, ops::read_flows(active, settings));
    std::cout << (json ? ops::dump(ops::flows_json(d, flows)) + "\n" : ops::flows_text(d, flows));
  }
  return kExitOk;
}

}  // namespace portway::cli
