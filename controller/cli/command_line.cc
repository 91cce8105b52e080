#include "cli/command_line.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <string_view>
#include <vector>

#include "cli/exit_codes.h"

#ifndef PORTWAY_VERSION
#error "PORTWAY_VERSION comes from the CMake project version"
#endif

namespace portway::cli {

CommandLine::CommandLine(std::string command_path, std::string description)
    : app_(std::move(description), command_path), command_path_(std::move(command_path)) {
  app_.set_help_flag("-h,--help", "show this help and exit");
  app_.add_flag("--version", version_, "print the portway and libbpf versions and exit");
  app_.add_flag("-v,--verbose", verbosity_, "more log output: -v debug, -vv trace (stderr)");
  app_.add_option("--log-level", log_level_, "log level: trace, debug, info, warn, error, critical, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app_.allow_extras(false);
}

std::optional<int> CommandLine::parse(std::span<const std::string> args) {
  return parse(args, std::cout, std::cerr);
}

std::optional<int> CommandLine::parse(std::span<const std::string> args, std::ostream& out,
                                      std::ostream& err) {
  // CLI11 consumes a vector from its back: hand it the arguments reversed.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app_.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app_.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app_.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    err << command_path_ << ": " << e.what() << " (see " << command_path_ << " --help)\n";
    return kExitEnvironment;
  }
  if (version_) {
    print_version(out);
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

void print_version(std::ostream& out) {
  // libbpf spells its version "v1.1"; print it the way the tool's own version is printed.
  std::string_view libbpf = libbpf_version_string();
  if (libbpf.starts_with('v')) libbpf.remove_prefix(1);
  out << "portway " << PORTWAY_VERSION << "\n"
      << "libbpf " << libbpf << "\n";
}

}  // namespace portway::cli
