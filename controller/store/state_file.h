// Where the state database lives on disk and with what permissions (cli.md `--state`,
// model.md "file mode 0600").
#pragma once

#include <optional>
#include <string>

namespace portway::store {

inline constexpr const char* kDefaultStatePath = "/var/lib/portway/state.db";
inline constexpr const char* kStatePathEnv = "PORTWAY_STATE";

// The --state flag if given, else $PORTWAY_STATE if set and non-empty, else the default.
std::string resolve_state_path(const std::optional<std::string>& flag);

// Makes sure `path` exists as a regular file (not a symlink) only its owner can read or
// write: creates the missing parent directories (0700) and the file (0600), and tightens an
// existing file that others could read. Throws StoreError naming the path and the reason.
void prepare_state_file(const std::string& path);

// Tightens the -wal and -shm companions of `path` to 0600 if they exist. SQLite creates
// them with the main file's mode already; this covers files left by older tools.
void restrict_companion_files(const std::string& path);

}  // namespace portway::store
