// Opening the state database for a command (docs/cli.md `--state DB`, $PORTWAY_STATE, default
// /var/lib/portway/state.db). Store failures surface as store::StoreError, which main()
// reports as an environment error (exit 2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "store/store.h"

namespace portway::cli {

// Creates the database (and its directory) if missing: for commands that write.
std::unique_ptr<store::Store> open_state_for_write(const std::optional<std::string>& flag);

// nullptr when there is no store (the file is absent, or empty: nothing was ever applied):
// reading commands never create state, and show nothing for none.
std::unique_ptr<store::Store> open_state_for_read(const std::optional<std::string>& flag);

// The store `sync` programs the node from. No store is an EnvironmentError naming the path
// and what to do: read as empty it would remove every frontend from the node
// (docs/operations.md "Removing everything").
std::unique_ptr<store::Store> open_state_for_sync(const std::optional<std::string>& flag);

std::int64_t now_ms();

}  // namespace portway::cli
