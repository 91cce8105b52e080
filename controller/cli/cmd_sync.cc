// portway sync [--state DB] [--node FILE] [--dataplane auto|xdp|nft] [--wait S] [--json]
//              [--remove-all]
#include <chrono>
#include <iostream>
#include <optional>

#include "agent/node_dataplane.h"
#include "agent/reserved_ports.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "ops/service_view.h"
#include "cli/state_db.h"
#include "ops/daemon_process.h"
#include "state/diff.h"
#include "store/state_file.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway sync [--state DB] [--node FILE] [--dataplane auto|xdp|nft] [--wait S] [--json]\n"
    "                    [--remove-all]\n"
    "Compile the store and program the dataplane once, changing only what differs from what\n"
    "is installed; print what changed. Needs root (CAP_BPF, CAP_NET_ADMIN). One writer per\n"
    "pin folder: waits for another sync or lab on it, up to --wait seconds; refused at once\n"
    "while a `portway daemon` owns it (the daemon programs the store itself).\n"
    "A missing or empty state database is an error, never an empty node: --remove-all is the\n"
    "one way to remove every frontend.\n"
    "Exit: 0 programmed, 1 rejected input, 2 usage or environment error (e.g. no state\n"
    "database, the fast path cannot load with --dataplane xdp, or the pin folder stayed in use;\n"
    "the message names the pid holding it).\n";

}  // namespace

int cmd_sync(std::span<const std::string> args) {
  CommandLine cmdline("portway sync", kUsage);
  std::optional<std::string> state, node_file, dataplane_flag, wait_flag;
  bool json = false, remove_all = false;
  cmdline.add_state(cmdline.app(), state);
  cmdline.add_node(cmdline.app(), node_file, "node settings (TOML)");
  cmdline.app().add_option("--dataplane", dataplane_flag, "auto | xdp | nft (default: the node setting, else auto)")
      ->check(dataplane_values());
  cmdline.app().add_option("--wait", wait_flag, "seconds to wait for another writer of the pin folder (default 10)")
      ->type_name("S");
  cmdline.add_json(cmdline.app(), json, "{\"dataplane\",\"reason\",\"changes\":[...],\"notes\":[...]}");
  cmdline.app().add_flag("--remove-all", remove_all,
                      "program no frontends at all, whatever the store holds (the store is not read)");
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  const config::NodeSettings settings = load_node_settings(node_file);
  refuse_ranges_overlapping_node(settings);
  const config::DataplaneChoice choice = dataplane_flag ? dataplane_choice(*dataplane_flag) : settings.dataplane;

  std::chrono::milliseconds wait = agent::kDefaultLockWait;
  if (wait_flag) {
    double seconds = -1;
    try {
      std::size_t used = 0;
      seconds = std::stod(*wait_flag, &used);
      if (used != wait_flag->size()) seconds = -1;
    } catch (const std::exception&) {
    }
    if (!(seconds >= 0 && seconds <= 86400)) throw UsageError("--wait must be a number of seconds (0 to 86400)");
    wait = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  // A daemon holds the lock for its whole life and programs every store change itself:
  // waiting for it is pointless, so sync fails at once (docs/daemon.md).
  if (const auto holder = loader::pin_folder_lock_holder(settings.bpffs_dir);
      holder && ops::is_portway_daemon(*holder)) {
    throw EnvironmentError("the portway daemon (pid " + std::to_string(*holder) + ") owns the pin folder " +
                           settings.bpffs_dir + " and programs every store change itself; `portway status` "
                           "shows what it programmed (stop it to sync by hand)");
  }
  // Taken before the store is read: the last writer to get the lock programs the newest store.
  std::optional<agent::NodeDataplane> node;
  try {
    node.emplace(settings, choice, wait);
  } catch (const std::exception& e) {
    throw EnvironmentError(e.what());
  }

  std::uint64_t generation = 0;
  state::DataplaneState desired;
  if (!remove_all) {
    const auto store = open_state_for_sync(state);
    // The Services' addresses come from the ranges the store recorded, which a node file
    // given now need not repeat (docs/model.md "The node's service ranges").
    if (const auto recorded = store->begin_read()->service_ranges()) {
      config::NodeSettings as_recorded = settings;
      as_recorded.service_cidr = recorded->ipv4;
      as_recorded.service_cidr6 = recorded->ipv6;
      refuse_ranges_overlapping_node(as_recorded);
    }
    desired = agent::compile_store(store.get(), &generation);
    if (const auto reserved = reserved_node_port_claims(desired, settings.reserved_node_ports);
        !reserved.empty()) {
      for (const auto& line : reserved) std::cerr << "portway sync: " << line << "\n";
      throw RejectedError("");
    }
  }

  agent::SyncOutcome outcome;
  try {
    outcome = node->sync(desired, generation);
  } catch (const std::exception& e) {
    throw EnvironmentError(std::string("programming the ") +
                           (choice == config::DataplaneChoice::nft ? "nftables" : "fast-path") +
                           " dataplane failed: " + e.what());
  }
  try {
    agent::reserve_node_ports(desired, agent::reserved_ports_record_path(
                                           store::resolve_state_path(state)));
  } catch (const std::exception& e) {
    // The dataplane is programmed; only the protection of node ports from the node's own
    // ephemeral ports is missing (agent/reserved_ports.h).
    std::cerr << "portway sync: could not reserve the node ports: " << e.what() << "\n";
  }

  const dataplane::SyncStatus status = agent::status_of(outcome, choice, now_ms());
  const std::string status_path =
      dataplane::sync_status_path(store::resolve_state_path(state));
  try {
    dataplane::save_sync_status(status_path, status);
  } catch (const std::exception& e) {
    // The kernel is programmed; only `portway status` loses its explanation.
    std::cerr << "portway sync: could not record the status in " << status_path << ": " << e.what() << "\n";
  }

  const std::vector<std::string> changes = state::describe(outcome.report.applied);
  if (json) {
    std::cout << ops::dump({{"dataplane", status.dataplane},
                       {"reason", status.reason},
                       {"changes", changes},
                       {"notes", outcome.report.notes}})
              << "\n";
    return kExitOk;
  }
  std::cout << "dataplane: " << status.dataplane << " (" << status.reason << ")\n";
  for (const auto& note : outcome.report.notes) std::cout << "  note: " << note << "\n";
  if (changes.empty()) std::cout << "no changes\n";
  for (const auto& line : changes) std::cout << line << "\n";
  return kExitOk;
}

}  // namespace portway::cli
