// The conventions every portway command's flags follow (docs/cli.md "Conventions"), in one
// place: -h/--help, --version, -v/-vv and --log-level on every command and subcommand, the
// flags several commands share (--state, --node, --json), and a usage error (exit 2, naming
// the argument) for anything the command does not declare. Commands declare their own flags
// on app() (or on a subcommand's app) with CLI11.
#pragma once

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "errors/error.h"

namespace portway::cli {

// A flag or argument the command does not take, or a combination it refuses, found after
// CLI11 parsed the line (exit 2, with a pointer to --help). command_path names a subcommand
// ("portway sandbox set") whose --help the message should point at instead of the command's.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message, std::string command_path = "")
      : Error(kExitEnvironment, message), command_path_(std::move(command_path)) {}
  const std::string& command_path() const { return command_path_; }

 private:
  std::string command_path_;
};

class CommandLine {
 public:
  // command_path is what the user typed before the flags, e.g. "portway status"; usage is
  // what --help prints above the flags: the synopsis ("usage: portway status ...") and what
  // the command does, in words.
  CommandLine(std::string command_path, std::string usage);

  CLI::App& app() { return *app_; }

  // A subcommand (`portway sandbox add`) following the same conventions. summary is its line
  // in the parent's --help; usage its own --help text, as for the constructor.
  CLI::App& add_subcommand(const std::string& name, const std::string& summary, const std::string& usage);

  // The shared flags, worded once.
  // --state DB: the state database (default $PORTWAY_STATE, else /var/lib/portway/state.db).
  static CLI::Option* add_state(CLI::App& app, std::optional<std::string>& db,
                                const std::string& help = kStateHelp);
  // --node FILE: the node settings. --version reads bpffs_dir from the file given here.
  CLI::Option* add_node(CLI::App& app, std::optional<std::string>& file, const std::string& help);
  // --json: print `shape` (one JSON document) on stdout instead of text.
  static CLI::Option* add_json(CLI::App& app, bool& json, const std::string& shape);

  // Parses args (without the command path). Returns the exit code when the command must stop
  // here: 0 after printing help or the version, 2 after a usage error (printed to err, naming
  // the argument). Returns nullopt when the command should run; the log level is set by then.
  std::optional<int> parse(std::span<const std::string> args, std::ostream& out, std::ostream& err);
  std::optional<int> parse(std::span<const std::string> args);

  static constexpr const char* kStateHelp =
      "state database (default $PORTWAY_STATE, else /var/lib/portway/state.db)";

 private:
  void add_conventions(CLI::App& app);
  // The command (or subcommand) the user named: the deepest one selected.
  const CLI::App& selected() const;
  std::string path_of(const CLI::App& app) const;
  std::string describe(const CLI::ParseError& e) const;
  std::string pin_folder(std::ostream& err) const;

  std::unique_ptr<CLI::App> app_;
  std::string command_path_;
  std::shared_ptr<std::map<const CLI::App*, std::string>> summaries_;
  int verbosity_ = 0;
  std::string log_level_;
  bool version_ = false;
  std::vector<std::optional<std::string>*> node_files_;
};

// What `--version` prints: portway's version, the libbpf it runs with, and the BPF programs
// installed under the pin folder `bpffs_dir` (id and tag), or why there are none to name.
void print_version(std::ostream& out, const std::string& bpffs_dir);

}  // namespace portway::cli
