// portway apply [--state DB] [--node FILE] [--json] FILE
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "cli/state_db.h"
#include "config/app_parser.h"
#include "config/text_input.h"
#include "model/app_ops.h"
#include "model/errors.h"
#include "ops/app_requests.h"
#include "ops/service_view.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway apply [--state DB] [--node FILE] [--move-service-ranges] [--json] FILE\n"
    "Validate an app.toml, check its node ports against every other app, and create, update or\n"
    "delete its Services (keeping their addresses) in one transaction: all of it or nothing.\n"
    "Exit: 0 applied (or already up to date), 1 rejected (invalid file, node-port conflict,\n"
    "address pool exhausted, service ranges overlapping the node's addresses or uplink\n"
    "networks, or other than the ones the store's Services were addressed from), 2 usage or\n"
    "environment error.\n";

config::App parse_or_reject(const std::string& file, const config::ValidationOptions& options,
                            std::string& text) {
  auto read = config::read_config_file(file);
  if (read.io_error) throw EnvironmentError(*read.io_error);
  if (read.rejected) {
    std::cerr << config::to_string(*read.rejected) << "\n";
    throw RejectedError("");
  }
  auto outcome = config::parse_app(read.text, file, options);
  if (!outcome.ok()) {
    for (const auto& d : outcome.errors) std::cerr << config::to_string(d) << "\n";
    throw RejectedError("");
  }
  text = std::move(read.text);
  return std::move(*outcome.app);
}

}  // namespace

int cmd_apply(std::span<const std::string> args) {
  CommandLine cmdline("portway apply", kUsage);
  std::optional<std::string> state, node_file;
  bool move_service_ranges = false, json = false;
  std::string file;
  cmdline.add_state(cmdline.app(), state);
  cmdline.add_node(cmdline.app(), node_file, "node settings (TOML): service address pools, reserved node ports");
  cmdline.app().add_flag("--move-service-ranges", move_service_ranges,
                      "accept service ranges other than the store's and re-address every Service into them");
  cmdline.add_json(cmdline.app(), json, "{\"app\":{...},\"services\":[...],\"deleted\":[...]}");
  cmdline.app().add_option("FILE", file, "the app.toml")->required();
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  const config::NodeSettings node = load_node_settings(node_file);
  std::optional<model::AddressPools> pools;
  try {
    pools.emplace(model::AddressPools::from(node));
  } catch (const model::AllocationError& e) {
    throw RejectedError(std::string("node settings: ") + e.what());
  }
  pools->exclude(refuse_ranges_overlapping_node(node).addresses);

  // Everything that can be refused without the store is refused before it is opened.
  std::string text;
  const config::App app = parse_or_reject(file, node.validation_options(), text);

  const auto store = open_state_for_write(state);
  const std::string origin = node_file ? "from " + *node_file : "the defaults: no --node given";
  const ops::AppliedApp applied = ops::apply_app(
      *store,
      {.source = text, .app = app, .ranges = {node.service_cidr, node.service_cidr6},
       .move_service_ranges = move_service_ranges, .ranges_origin = origin},
      *pools, now_ms());
  if (applied.ranges_moved) {
    std::cerr << "portway apply: service ranges moved to " << model::describe({node.service_cidr, node.service_cidr6})
              << "; re-addressed " << applied.readdressed << " Service(s) of other apps\n";
  }
  std::cout << (json ? ops::dump(applied.json) + "\n" : applied.text);
  return kExitOk;
}

}  // namespace portway::cli
