// portway daemon [--state DB] [--node FILE] [--log-format text|json]
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "agent/reserved_ports.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "daemon/api_server.h"
#include "daemon/capabilities.h"
#include "daemon/json_log_sink.h"
#include "daemon/metrics_server.h"
#include "daemon/reconcile_loop.h"
#include "daemon/status_board.h"
#include "loader/pin_folder_lock.h"
#include "ops/active_dataplane.h"
#include "store/state_file.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway daemon [--state DB] [--node FILE] [--log-format text|json]\n"
    "Own the node's dataplane: program every change committed to the store (by any process)\n"
    "without `sync`, read the kernel back every resync_seconds, on SIGHUP and on link events,\n"
    "and repair drift. Runs in the foreground and logs to stderr; reports READY=1 to systemd\n"
    "after the first programming. SIGTERM/SIGINT: exit 0, the dataplane keeps forwarding.\n"
    "SIGHUP: re-read the node file, then a full check. Status: `portway status` (docs/daemon.md).\n"
    "One daemon per pin folder. Exit: 0 stopped by a signal, 1 invalid node file, 2 usage or\n"
    "environment error (e.g. the pin folder is held by another daemon or sync: the message\n"
    "names its pid).\n";

}  // namespace

int cmd_daemon(std::span<const std::string> args) {
  CommandLine cmdline("portway daemon", kUsage);
  std::optional<std::string> state, node_path;
  std::string log_format = "text";
  cmdline.add_state(cmdline.app(), state);
  cmdline.add_node(cmdline.app(), node_path, "node settings (TOML); re-read on SIGHUP");
  cmdline.app().add_option("--log-format", log_format, "text (default) or json: one {\"time\",\"level\",\"msg\"} object a line")
      ->check(CLI::IsMember({"text", "json"}));
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  if (log_format == "json") {
    // The new logger starts at its own default level: keep the one -v/--log-level chose.
    const auto level = spdlog::get_level();
    spdlog::set_default_logger(daemon::make_json_stderr_logger("portway"));
    spdlog::set_level(level);
  } else {
    // A timestamp a line: the daemon's log is read long after the fact.
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$: %v");
  }
  spdlog::flush_on(spdlog::level::trace);

  const config::NodeSettings settings = load_node_settings(node_path);
  refuse_ranges_overlapping_node(settings);
  // Before the store or the kernel is touched: only CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON
  // from here on (docs/operations.md "Privileges").
  daemon::enter_least_privilege(settings);
  const std::string state_path = store::resolve_state_path(state);

  daemon::DaemonOptions options;
  options.state_path = state_path;
  options.reload_settings = [node_path] {
    try {
      return load_node_settings(node_path);
    } catch (const RejectedError&) {
      throw std::runtime_error("the node file is invalid (the errors are above)");
    }
  };
  options.refuse = [](const state::DataplaneState& desired, const config::NodeSettings& node) {
    return reserved_node_port_claims(desired, node.reserved_node_ports);
  };
  const std::string reserved_record = agent::reserved_ports_record_path(state_path);
  options.after_programming = [reserved_record](const state::DataplaneState& desired) {
    agent::reserve_node_ports(desired, reserved_record);
  };

  daemon::StatusBoard board;
  std::optional<daemon::ReconcileLoop> loop;
  try {
    loop.emplace(std::move(options), settings, board);
  } catch (const loader::PinFolderBusy& e) {
    throw EnvironmentError(std::string(e.what()) + "; one daemon per pin folder");
  } catch (const std::exception& e) {
    throw EnvironmentError(std::string("cannot start: ") + e.what());
  }

  // The API and metrics serve on threads of their own, started after the loop blocked the
  // signals it takes through its signalfd. Their readers copy the loop's published status;
  // counters are read through a dataplane object of their own (the loop's NodeDataplane is
  // single-threaded). Failing to serve them is logged: programming the node goes on.
  const auto status = [&board] { return board.snapshot(); };
  const auto stats = [state_path, settings] {
    ops::ActiveDataplane active = ops::find_active_dataplane(state_path, settings);
    return active.dataplane ? active.dataplane->stats() : dataplane::Stats{};
  };
  std::optional<daemon::ApiServer> api;
  if (!settings.api_socket.empty()) {
    try {
      api.emplace(state_path, daemon::ApiSettings::from(settings), status, stats);
      api->start();
      spdlog::info("API on {}", settings.api_socket);
    } catch (const std::exception& e) {
      api.reset();
      spdlog::error("the API is not served on {}: {}", settings.api_socket, e.what());
    }
  }
  std::optional<daemon::MetricsServer> metrics;
  if (settings.metrics_address) {
    try {
      metrics.emplace(*settings.metrics_address, status, stats);
      metrics->start();
      spdlog::info("metrics and health on {}", config::to_string(*settings.metrics_address));
    } catch (const std::exception& e) {
      metrics.reset();
      spdlog::error("metrics are not served on {}: {}", config::to_string(*settings.metrics_address), e.what());
    }
  }
  return loop->run();
}

}  // namespace portway::cli
