// Where the state database lives on disk and with what permissions (docs/cli.md `--state`,
// docs/model.md "The SQLite file").
//
// Nothing here opens a read/write descriptor of a file SQLite may already hold: closing any
// descriptor of a file drops every POSIX (fcntl) lock this process holds on it, SQLite's
// included, and another process would then checkpoint, truncate or delete files this
// process still uses (SIGBUS on the mapped -shm, lost commits). The checks go through O_PATH
// descriptors, whose close drops no lock.
#pragma once

#include <optional>
#include <string>

namespace portway::store {

inline constexpr const char* kDefaultStatePath = "/var/lib/portway/state.db";
inline constexpr const char* kStatePathEnv = "PORTWAY_STATE";

// The --state flag if given, else $PORTWAY_STATE if set and non-empty, else the default.
std::string resolve_state_path(const std::optional<std::string>& flag);

// Checks an existing state file and its -wal/-shm companions: each must be a regular file
// (not a symlink) owned by this process's effective user (the store steers the node, so a
// file another user can rewrite is refused, not adopted); a file others could read is
// tightened to 0600. Returns false when `path` does not exist. Throws StoreError naming the
// path and the reason.
bool check_state_file(const std::string& path);

// Creates a missing state file, empty and 0600, with its missing parent directories (0700).
// Returns false when another process created it first (check it then). Throws StoreError.
bool create_state_file(const std::string& path);

}  // namespace portway::store
