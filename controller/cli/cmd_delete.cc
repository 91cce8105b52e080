// portway delete [--state DB] APP
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/state_db.h"
#include "model/errors.h"
#include "ops/app_requests.h"

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
  std::cout << ops::delete_app(*store, app).text;
  return kExitOk;
}

}  // namespace portway::cli
