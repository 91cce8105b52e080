// portway services [--state DB] [--json]
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/service_view.h"
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

  std::vector<store::ServiceRecord> services;
  std::vector<store::SandboxRecord> sandboxes;
  if (const auto store = open_state_for_read(parsed.value("state"))) {
    auto tx = store->begin_read();
    services = tx->services();
    sandboxes = tx->sandboxes();
  }
  const model::EndpointIndex endpoints(sandboxes);
  if (parsed.has("json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : services) list.push_back(service_json(s, endpoints));
    std::cout << dump({{"services", std::move(list)}}) << "\n";
  } else {
    for (const auto& s : services) std::cout << service_text(s, endpoints);
  }
  return kExitOk;
}

}  // namespace portway::cli
