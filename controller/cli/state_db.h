// Opening the state database for a command (cli.md `--state DB`, $PORTWAY_STATE, default
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

// nullptr when the database does not exist yet: reading commands never create state.
std::unique_ptr<store::Store> open_state_for_read(const std::optional<std::string>& flag);

std::int64_t now_ms();

}  // namespace portway::cli
