// Loading `--node FILE` for any command: defaults when absent, errors mapped to exit codes.
#pragma once

#include <optional>
#include <string>

#include "config/node_settings.h"

namespace portway::cli {

// Throws EnvironmentError (unreadable, symlink, world-writable) or RejectedError (invalid
// settings, every error already printed to stderr).
config::NodeSettings load_node_settings(const std::optional<std::string>& path);

}  // namespace portway::cli
