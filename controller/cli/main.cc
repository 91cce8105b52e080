// portway: one binary, subcommands per cli.md.
#include "loader/libbpf_log.h"
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/error_report.h"
#include "cli/exit_codes.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  std::function<int(std::span<const std::string>)> run;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands{
      {"validate", "parse and validate app.toml files", portway::cli::cmd_validate},
      {"apply", "apply an app.toml: its Services, addresses and node ports", portway::cli::cmd_apply},
      {"delete", "delete an app with its Services, addresses and node ports", portway::cli::cmd_delete},
      {"services", "list Services with addresses, ports and endpoints", portway::cli::cmd_services},
      {"sandbox", "register sandboxes: add, set (state), rm, list", portway::cli::cmd_sandbox},
      {"sync", "program the dataplane once from the store (only what changed)", portway::cli::cmd_sync},
      {"daemon", "own the node's dataplane: program every store change, repair drift", portway::cli::cmd_daemon},
      {"status", "which dataplane is active and why, attachments, map fill levels", portway::cli::cmd_status},
      {"stats", "per-frontend and per-backend counters, drops by reason", portway::cli::cmd_stats},
      {"dump", "what the kernel holds: frontends, backends, flows, drops", portway::cli::cmd_dump},
      {"lab", "a demo topology in network namespaces: up, run, down", portway::cli::cmd_lab},
      {"pktgen", "packet generator and counting sink for packet-level tests: send, sink", portway::cli::cmd_pktgen},
      {"probe", "kernel features the XDP/tc fast path needs, each yes/no with the reason", portway::cli::cmd_probe},
  };
  return kCommands;
}

void print_usage(std::ostream& out) {
  out << "usage: portway COMMAND [ARGS...]   (portway COMMAND --help for details)\n\ncommands:\n";
  for (const Command& c : commands()) {
    std::string name = c.name;
    name.resize(12, ' ');
    out << "  " << name << c.summary << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  portway::cli::exit_instead_of_abort_on_terminate();
  // Logs go to stderr: stdout carries --json output that scripts parse.
  spdlog::set_default_logger(spdlog::stderr_color_mt("portway"));
  spdlog::set_pattern("%^%l%$: %v");
  portway::loader::route_libbpf_logs_to_spdlog();

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    if (args.empty()) std::cerr << "portway: no command given\n";
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? portway::cli::kExitEnvironment : portway::cli::kExitOk;
  }
  for (const Command& c : commands()) {
    if (args[0] != c.name) continue;
    return portway::cli::run_reporting_errors(
        c.name, [&] { return c.run(std::span<const std::string>(args).subspan(1)); }, std::cerr);
  }
  std::cerr << "portway: unknown command \"" << args[0] << "\"\n";
  print_usage(std::cerr);
  return portway::cli::kExitEnvironment;
}
