// portway delete [--state DB] [--json] APP
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/state_db.h"
#include "model/errors.h"
#include "ops/app_requests.h"
#include "ops/service_view.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway delete [--state DB] [--json] APP\n"
    "Delete an applied app with its Services, their addresses and its node-port claims.\n"
    "Sandboxes stay registered (they belong to the runtime).\n"
    "Exit: 0 deleted, 1 no such app, 2 usage or environment error.\n";

}  // namespace

int cmd_delete(std::span<const std::string> args) {
  CommandLine cmdline("portway delete", kUsage);
  std::optional<std::string> state;
  bool json = false;
  std::string app;
  cmdline.add_state(cmdline.app(), state);
  cmdline.add_json(cmdline.app(), json,
                "{\"app\",\"services\":[ids],\"released_addresses\":[...],"
                "\"released_node_ports\":[{\"node_port\",\"protocol\"}]}");
  cmdline.app().add_option("APP", app, "the app's name")->required();
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;

  const auto store = open_state_for_read(state);
  if (!store) throw model::Rejected("app " + model::printable_quoted(app) + " is not applied");
  const ops::DeletedApp deleted = ops::delete_app(*store, app);
  std::cout << (json ? ops::dump(deleted.json) + "\n" : deleted.text);
  return kExitOk;
}

}  // namespace portway::cli
