// portway services [--state DB] [--json]
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "ops/service_view.h"
#include "cli/state_db.h"
#include "model/endpoints.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway services [--state DB] [--json]\n"
    "List Services: id, addresses, ports, and endpoints (running or draining sandboxes).\n"
    "Exit: 0, or 2 on a usage or environment error.\n";

}  // namespace

int cmd_services(std::span<const std::string> args) {
  CommandLine cmdline("portway services", kUsage);
  std::optional<std::string> state;
  bool json = false;
  cmdline.add_state(cmdline.app(), state);
  cmdline.add_json(cmdline.app(), json, "{\"services\":[...]}");
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;

  const auto store = open_state_for_read(state);
  const ops::ServiceListing listing = ops::list_services(store.get());
  if (json) {
    std::cout << ops::dump(ops::services_json(listing)) << "\n";
  } else {
    const model::EndpointIndex endpoints(listing.sandboxes);
    for (const auto& s : listing.services) std::cout << ops::service_text(s, endpoints);
  }
  return kExitOk;
}

}  // namespace portway::cli
