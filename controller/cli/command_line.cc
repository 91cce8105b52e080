#include "cli/command_line.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/installed_programs.h"
#include "cli/node_file.h"
#include "config/node_settings.h"

#ifndef PORTWAY_VERSION
#error "PORTWAY_VERSION comes from the CMake project version"
#endif

namespace portway::cli {
namespace {

using Summaries = std::map<const CLI::App*, std::string>;

// --help: the command's own words first (its synopsis as docs/cli.md writes it, what it does,
// its exit codes), then the flags CLI11 knows, then the subcommands with one line each.
// CLI11's generated "Usage: ... [OPTIONS]" line is left out: the synopsis says more.
class HelpFormatter : public CLI::Formatter {
 public:
  explicit HelpFormatter(std::shared_ptr<const Summaries> summaries) : summaries_(std::move(summaries)) {}

  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode mode) const override {
    std::string out = app->get_description();
    if (!out.empty() && out.back() != '\n') out += '\n';
    return out + make_positionals(app) + make_groups(app, mode) + make_subcommands(app, mode);
  }

  std::string make_subcommand(const CLI::App* sub) const override {
    const auto it = summaries_->find(sub);
    std::ostringstream out;
    CLI::detail::format_help(out, sub->get_name(), it == summaries_->end() ? "" : it->second, column_width_);
    return out.str();
  }

 private:
  std::shared_ptr<const Summaries> summaries_;
};

}  // namespace

CommandLine::CommandLine(std::string command_path, std::string usage)
    : app_(std::make_unique<CLI::App>(std::move(usage), command_path)),
      command_path_(std::move(command_path)),
      summaries_(std::make_shared<Summaries>()) {
  app_->formatter(std::make_shared<HelpFormatter>(summaries_));
  add_conventions(*app_);
}

void CommandLine::add_conventions(CLI::App& app) {
  app.set_help_flag("-h,--help", "show this help and exit");
  app.add_flag("--version", version_,
               "print the portway and libbpf versions and the installed BPF programs, and exit");
  app.add_flag("-v,--verbose", verbosity_, "more log output: -v debug, -vv trace (stderr)");
  app.add_option("--log-level", log_level_, "log level: trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.allow_extras(false);
}

CLI::App& CommandLine::add_subcommand(const std::string& name, const std::string& summary,
                                      const std::string& usage) {
  // The parent's formatter is inherited by the subcommand at creation.
  CLI::App* sub = app_->add_subcommand(name, usage);
  (*summaries_)[sub] = summary;
  add_conventions(*sub);
  return *sub;
}

CLI::Option* CommandLine::add_state(CLI::App& app, std::optional<std::string>& db, const std::string& help) {
  return app.add_option("--state", db, help)->type_name("DB");
}

CLI::Option* CommandLine::add_node(CLI::App& app, std::optional<std::string>& file, const std::string& help) {
  node_files_.push_back(&file);
  return app.add_option("--node", file, help)->type_name("FILE");
}

CLI::Option* CommandLine::add_json(CLI::App& app, bool& json, const std::string& shape) {
  return app.add_flag("--json", json, "print " + shape + " on stdout");
}

std::optional<int> CommandLine::parse(std::span<const std::string> args) {
  return parse(args, std::cout, std::cerr);
}

const CLI::App& CommandLine::selected() const {
  const CLI::App* at = app_.get();
  for (auto subs = at->get_subcommands(); !subs.empty(); subs = at->get_subcommands()) at = subs.front();
  return *at;
}

std::string CommandLine::path_of(const CLI::App& app) const {
  if (app.get_parent() == nullptr) return command_path_;
  return path_of(*app.get_parent()) + " " + app.get_name();
}

// CLI11 lists unexpected arguments in reverse, without saying which is a flag, and reports a
// mistyped subcommand as a missing one: name the first stray argument as the user typed it.
std::string CommandLine::describe(const CLI::ParseError& e) const {
  const bool extras = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr;
  if (!extras && dynamic_cast<const CLI::RequiredError*>(&e) == nullptr) return e.what();
  const std::vector<std::string> stray = app_->remaining(true);
  for (const std::string& arg : stray) {
    if (arg.size() > 1 && arg[0] == '-') return "unknown flag " + arg.substr(0, arg.find('='));
  }
  if (stray.empty()) return e.what();
  const CLI::App& at = selected();
  if (const auto subs = at.get_subcommands({}); !subs.empty()) {
    std::string names;
    for (const CLI::App* s : subs) names += (names.empty() ? "" : ", ") + s->get_name();
    return "unknown subcommand \"" + stray.front() + "\" (" + names + ")";
  }
  return extras ? "unexpected argument \"" + stray.front() + "\"" : e.what();
}

std::string CommandLine::pin_folder(std::ostream& err) const {
  for (const std::optional<std::string>* file : node_files_) {
    if (!*file) continue;
    try {
      return load_node_settings(**file).bpffs_dir;
    } catch (const std::exception& e) {
      // --version never fails: the node file's pin folder is then unknown, the default is read.
      err << command_path_ << ": --node " << **file << ": " << e.what()
          << " (the installed programs are read from the default pin folder)\n";
    }
  }
  return config::NodeSettings{}.bpffs_dir;
}

std::optional<int> CommandLine::parse(std::span<const std::string> args, std::ostream& out,
                                      std::ostream& err) {
  // CLI11 consumes a vector from its back: hand it the arguments reversed.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app_->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app_->help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app_->help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    // --version anywhere on the line wins over what else is wrong with it, as --help does.
    if (!version_) {
      const std::string path = path_of(selected());
      err << path << ": " << describe(e) << " (see " << path << " --help)\n";
      return kExitEnvironment;
    }
  }
  if (version_) {
    print_version(out, pin_folder(err));
    return kExitOk;
  }
  if (!log_level_.empty()) {
    spdlog::set_level(spdlog::level::from_str(log_level_));
  } else if (verbosity_ >= 2) {
    spdlog::set_level(spdlog::level::trace);
  } else if (verbosity_ == 1) {
    spdlog::set_level(spdlog::level::debug);
  }
  return std::nullopt;
}

void print_version(std::ostream& out, const std::string& bpffs_dir) {
  out << "portway " << PORTWAY_VERSION << "\n"
      << "libbpf " << libbpf_major_version() << "." << libbpf_minor_version() << "\n";
  for (const std::string& line : describe_installed_programs(bpffs_dir)) out << line << "\n";
}

}  // namespace portway::cli
