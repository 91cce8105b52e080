// The conventions every portway command's flags follow (docs/cli.md), in one place:
// -h/--help, --version, -v/-vv and --log-level, and a usage error (exit 2) for anything the
// command does not declare. Commands declare their own flags on app() with CLI11.
#pragma once

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <optional>
#include <span>
#include <string>

namespace portway::cli {

class CommandLine {
 public:
  // command_path is what the user typed before the flags, e.g. "portway sandbox add".
  CommandLine(std::string command_path, std::string description);

  CLI::App& app() { return app_; }

  // Parses args (without the command path). Returns the exit code when the command must stop
  // here: 0 after printing help or the version, 2 after a usage error (printed to err, naming
  // the argument). Returns nullopt when the command should run; the log level is set by then.
  std::optional<int> parse(std::span<const std::string> args, std::ostream& out, std::ostream& err);
  std::optional<int> parse(std::span<const std::string> args);

 private:
  CLI::App app_;
  std::string command_path_;
  int verbosity_ = 0;
  std::string log_level_;
  bool version_ = false;
};

// What `--version` prints: the tool's version and the libbpf it runs with.
void print_version(std::ostream& out);

}  // namespace portway::cli
