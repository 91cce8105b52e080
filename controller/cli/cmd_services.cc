// portway services [--state DB] [--json]
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "ops/service_view.h"
#include "cli/state_db.h"
#include "model/endpoints.h"

namespace portway::cli {
namespace {

const FlagSpec kFlags[] = {
    {"state", true, false, "state database (default $PORTWAY_STATE, else /var/lib/portway/state.db)"},
    {"json", false, false, "print {\"services\":[...]} on stdout"},
    {"help", false, false, "show this help"},
};

constexpr const char* kUsage =
    "usage: portway services [--state DB] [--json]\n"
    "List Services: id, addresses, ports, and endpoints (running or draining sandboxes).\n"
    "Exit: 0, or 2 on a usage or environment error.\n";

}  // namespace

int cmd_services(std::span<const std::string> args) {
  const ParsedArgs parsed = parse_args(args, kFlags);
  if (parsed.has("help")) {
    std::cout << kUsage << describe_flags(kFlags);
    return kExitOk;
  }
  if (!parsed.positional().empty()) throw UsageError("services takes no arguments");

  const auto store = open_state_for_read(parsed.value("state"));
  const ops::ServiceListing listing = ops::list_services(store.get());
  if (parsed.has("json")) {
    std::cout << ops::dump(ops::services_json(listing)) << "\n";
  } else {
    const model::EndpointIndex endpoints(listing.sandboxes);
    for (const auto& s : listing.services) std::cout << ops::service_text(s, endpoints);
  }
  return kExitOk;
}

}  // namespace portway::cli
