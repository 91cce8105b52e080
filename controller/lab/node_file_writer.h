// The node file the lab writes for its node (and the tests write for variants of it): the
// settings serialized by config::to_toml, never spliced into text by hand, so a lab folder or
// prefix holding quotes, backslashes or newlines cannot break the file or add keys to it.
#pragma once

#include <string>

#include "config/node_settings.h"

namespace portway::lab {

// A first comment line saying who wrote it, then every setting.
std::string node_file_text(const config::NodeSettings& settings);

// Writes `path` with mode 0600 (node files must not be group- or world-writable), replacing it
// atomically: a daemon re-reading it on SIGHUP sees the old file or the new one, never half.
// Throws std::runtime_error naming the path.
void write_node_file(const std::string& path, const config::NodeSettings& settings);

}  // namespace portway::lab
