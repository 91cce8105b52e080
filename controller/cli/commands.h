// One function per subcommand; each parses its own flags and returns its exit code.
#pragma once

#include <span>
#include <string>

namespace portway::cli {

int cmd_validate(std::span<const std::string> args);

}  // namespace portway::cli
