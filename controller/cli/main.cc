// portway: one binary, one command per job (docs/cli.md).
#include "loader/libbpf_log.h"
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "cli/command_line.h"
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

std::string usage() {
  std::string out =
      "usage: portway [-h] [--version] [-v|-vv] [--log-level LEVEL] COMMAND [ARGS...]\n"
      "(portway COMMAND --help for a command's flags)\n\ncommands:\n";
  for (const Command& c : commands()) {
    std::string name = c.name;
    name.resize(12, ' ');
    out += "  " + name + c.summary + "\n";
  }
  return out;
}

const Command* find(const std::string& name) {
  for (const Command& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  portway::cli::exit_instead_of_abort_on_terminate();
  // Logs go to stderr: stdout carries --json output that scripts parse.
  spdlog::set_default_logger(spdlog::stderr_color_mt("portway"));
  spdlog::set_pattern("%^%l%$: %v");
  portway::loader::route_libbpf_logs_to_spdlog();

  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "help") args[0] = "--help";
  // The flags before the command (-v, --log-level, -h, --version) are portway's own; the
  // first word that is not one of them is the command, and the rest is the command's.
  std::vector<std::string> rest = args;
  if (args.empty() || find(args[0]) == nullptr) {
    portway::cli::CommandLine cmdline("portway", usage());
    cmdline.app().prefix_command();
    if (const auto exit_code = cmdline.parse(args)) return *exit_code;
    rest = cmdline.app().remaining();
  }
  if (rest.empty()) {
    std::cerr << "portway: no command given\n" << usage();
    return portway::cli::kExitEnvironment;
  }
  const Command* command = find(rest[0]);
  if (command == nullptr) {
    std::cerr << "portway: unknown " << (rest[0].starts_with("-") ? "flag " : "command ") << "\"" << rest[0]
              << "\"\n" << usage();
    return portway::cli::kExitEnvironment;
  }
  return portway::cli::run_reporting_errors(
      command->name, [&] { return command->run(std::span<const std::string>(rest).subspan(1)); }, std::cerr);
}
