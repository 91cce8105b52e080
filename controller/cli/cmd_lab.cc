// portway lab up|down|run
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "lab/lab.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway lab up|down|run [flags]\n"
    "A self-contained demo topology in network namespaces (198.18.0.0/15): a client, a node\n"
    "where portway programs the dataplane, sandboxes running portway-testapp.\n"
    "Needs root. Exit: 0, 1 when a probe failed (run), 2 on errors.\n";

constexpr const char* kUpUsage =
    "usage: portway lab up [--prefix P] [--dir DIR] [--examples DIR] [--testapp PATH]\n"
    "                      [--dataplane auto|xdp|nft]\n"
    "Build the lab, apply the example apps, register sandboxes, sync. Needs root.\n"
    "Exit: 0 up, 2 on errors.\n";

constexpr const char* kRunUsage =
    "usage: portway lab run [--prefix P] [--dir DIR] [--examples DIR] [--testapp PATH]\n"
    "                       [--dataplane auto|xdp|nft]...\n"
    "Sync with each dataplane and probe every frontend; print one table. Needs root.\n"
    "Exit: 0 every probe passed, 1 a probe failed, 2 on errors.\n";

constexpr const char* kDownUsage =
    "usage: portway lab down [--prefix P] [--dir DIR]\n"
    "Remove everything the lab created (also after a crash). Needs root.\n"
    "Exit: 0 removed, 2 on errors.\n";

// The flags every lab subcommand takes (what one lab is, and where its inputs come from).
void add_lab_flags(CLI::App& app, lab::LabConfig& cfg, std::vector<std::string>& dataplanes) {
  app.add_option("--prefix", cfg.prefix, "name prefix of the lab's namespaces (default pwlab)")->type_name("P");
  app.add_option("--dir", cfg.dir, "the lab's directory (default /run/portway-lab)")->type_name("DIR");
  app.add_option("--examples", cfg.examples_dir, "folder of app.toml files to apply (default: the source tree's testdata/apps)")
      ->type_name("DIR");
  app.add_option("--testapp", cfg.testapp, "path of portway-testapp (default: next to this build)")->type_name("PATH");
  app.add_option("--dataplane", dataplanes, "up: auto|xdp|nft (default auto); run: repeat to choose (default xdp and nft)")
      ->check(dataplane_values())
      ->allow_extra_args(false);
}

int up(const lab::LabConfig& cfg, const std::vector<std::string>& dataplanes) {
  const auto choice = dataplanes.empty() ? config::DataplaneChoice::automatic : dataplane_choice(dataplanes.back());
  const lab::LabSummary s = lab::lab_up(cfg, choice);
  std::cout << "lab " << cfg.prefix << " is up: " << s.apps << " apps, " << s.services << " Services, "
            << s.sandboxes << " sandboxes; dataplane " << s.dataplane << " (" << s.reason << ")\n"
            << "  state: " << cfg.dir << "/state.db, node settings: " << cfg.dir << "/node.toml\n";
  return kExitOk;
}

int run(const lab::LabConfig& cfg, const std::vector<std::string>& dataplanes) {
  std::vector<config::DataplaneChoice> choices;
  for (const auto& v : dataplanes) choices.push_back(dataplane_choice(v));
  if (choices.empty()) choices = {config::DataplaneChoice::xdp, config::DataplaneChoice::nft};
  const auto rows = lab::lab_run(cfg, choices);
  std::cout << lab::format_table(rows);
  std::size_t failed = 0;
  for (const auto& r : rows) failed += r.ok ? 0 : 1;
  std::cout << rows.size() - failed << " passed, " << failed << " failed\n";
  return failed ? kExitRejected : kExitOk;
}

}  // namespace

int cmd_lab(std::span<const std::string> args) {
  lab::LabConfig cfg;
  cfg.examples_dir = PORTWAY_SOURCE_DIR "/testdata/apps";
  cfg.testapp = PORTWAY_TESTAPP_PATH;
  std::vector<std::string> dataplanes;
  CommandLine cmdline("portway lab", kUsage);
  CLI::App& up_cmd = cmdline.add_subcommand("up", "build it, apply the example apps, register sandboxes, sync", kUpUsage);
  CLI::App& run_cmd = cmdline.add_subcommand("run", "sync with each dataplane and probe every frontend", kRunUsage);
  CLI::App& down_cmd = cmdline.add_subcommand("down", "remove everything the lab created (also after a crash)", kDownUsage);
  add_lab_flags(up_cmd, cfg, dataplanes);
  add_lab_flags(run_cmd, cfg, dataplanes);
  // down finds what to remove by prefix and folder alone; it accepts the other flags so that
  // one set of flags serves up, run and down.
  add_lab_flags(down_cmd, cfg, dataplanes);
  cmdline.app().require_subcommand(1);
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;

  const std::string verb = cmdline.app().get_subcommands().front()->get_name();
  try {
    if (verb == "up") return up(cfg, dataplanes);
    if (verb == "run") return run(cfg, dataplanes);
    for (const auto& what : lab::lab_down(cfg)) std::cout << "removed " << what << "\n";
    return kExitOk;
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw EnvironmentError("lab " + verb + ": " + e.what());
  }
}

}  // namespace portway::cli
