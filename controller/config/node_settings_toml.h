// Node settings written as a node file (docs/config.md "Node settings") that
// parse_node_settings() reads back as the same settings: every key, defaults included (but an
// empty `cgroup`, which only absence expresses), so the file says everything the node runs with. Strings go through toml++'s serializer, which
// escapes quotes, backslashes and control characters: a name never ends a string early or
// adds a key.
#pragma once

#include <string>

#include "config/node_settings.h"

namespace portway::config {

std::string to_toml(const NodeSettings& settings);

}  // namespace portway::config
