// portway delete [--state DB] APP
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/state_db.h"
#include "model/app_ops.h"
#include "model/errors.h"

namespace portway::cli {
namespace {

const FlagSpec kFlags[] = {
    {"state", true, false, "state database (default $PORTWAY_STATE, else /var/lib/portway/state.db)"},
    {"help", false, false, "show this help"},
};

constexpr const char* kUsage =
    "usage: portway delete [--state DB] APP\n"
    "Delete an applied app with its Services, their addresses and its node-port claims.\n"
    "Sandboxes stay registered (they belong to the runtime).\n"
    "Exit: 0 deleted, 1 no such app, 2 usage or environment error.\n";

}  // namespace

int cmd_delete(std::span<const std::string> args) {
  const ParsedArgs parsed = parse_args(args, kFlags);
  if (parsed.has("help")) {
    std::cout << kUsage << describe_flags(kFlags);
    return kExitOk;
  }
  if (parsed.positional().size() != 1) throw UsageError("delete needs exactly one APP");
  const std::string& app = parsed.positional()[0];

  const auto store = open_state_for_read(parsed.value("state"));
  if (!store) throw model::Rejected("app " + model::printable_quoted(app) + " is not applied");
  auto tx = store->begin_write();
  const model::DeleteResult result = model::delete_app(*tx, app);
  tx->commit();

  std::cout << "deleted app " << app << "\n";
  for (const auto& id : result.services) std::cout << "deleted " << id << "\n";
  for (const auto& a : result.released_addresses) std::cout << "released address " << a << "\n";
  for (const auto& c : result.released_claims) {
    std::cout << "released node_port " << c.node_port << "/" << config::to_string(c.protocol) << "\n";
  }
  return kExitOk;
}

}  // namespace portway::cli
