// portway validate [--json] [--node FILE] FILE...
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "config/app_json.h"
#include "config/app_parser.h"
#include "config/text_input.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway validate [--json] [--node FILE] FILE...\n"
    "Parse and validate app.toml files; every error, in file order.\n"
    "Exit: 0 all valid, 1 some file invalid, 2 usage error or unreadable file.\n";

}  // namespace

int cmd_validate(std::span<const std::string> args) {
  CommandLine cmdline("portway validate", kUsage);
  bool json = false;
  std::optional<std::string> node_file;
  std::vector<std::string> file_args;
  cmdline.add_json(cmdline.app(), json, "{\"files\":[...]}");
  cmdline.add_node(cmdline.app(), node_file, "node settings (TOML) for the reserved node ports");
  cmdline.app().add_option("FILE", file_args, "app.toml files")->required();
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  const config::NodeSettings node = load_node_settings(node_file);
  const config::ValidationOptions options = node.validation_options();

  int exit_code = kExitOk;
  nlohmann::json files = nlohmann::json::array();
  for (const std::string& file : file_args) {
    nlohmann::json entry = {{"file", file}, {"valid", false}, {"errors", nlohmann::json::array()},
                            {"app", nullptr}};
    const auto read = config::read_config_file(file);
    if (read.io_error) {
      std::cerr << "portway: " << *read.io_error << "\n";
      entry["errors"].push_back({{"line", 0}, {"col", 0}, {"path", ""}, {"message", *read.io_error}});
      exit_code = kExitEnvironment;
      files.push_back(std::move(entry));
      continue;
    }
    config::ParseOutcome outcome;
    if (read.rejected)
      outcome.errors.push_back(*read.rejected);
    else
      outcome = config::parse_app(read.text, file, options);

    if (!outcome.ok() && exit_code == kExitOk) exit_code = kExitRejected;
    if (json) {
      entry["valid"] = outcome.ok();
      for (const auto& d : outcome.errors) entry["errors"].push_back(config::to_json(d));
      if (outcome.app) entry["app"] = config::to_json(*outcome.app);
      files.push_back(std::move(entry));
    } else if (outcome.ok()) {
      std::size_t l4 = 0;
      for (const auto& s : outcome.app->services) l4 += s.l4_service ? 1 : 0;
      std::cout << file << ": ok (app " << outcome.app->name << ": "
                << outcome.app->services.size() << " services, " << l4 << " need an L4 Service)\n";
    } else {
      for (const auto& d : outcome.errors) std::cerr << config::to_string(d) << "\n";
    }
  }
  if (json) {
    // replace: a file name given on the command line need not be UTF-8.
    std::cout << nlohmann::json{{"files", std::move(files)}}.dump(
                     2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  }
  return exit_code;
}

}  // namespace portway::cli
