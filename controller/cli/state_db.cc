#include "cli/state_db.h"

#include <chrono>
#include <cstdlib>

#include "cli/exit_codes.h"
#include "store/sqlite_store.h"
#include "store/state_file.h"

namespace portway::cli {

std::unique_ptr<store::Store> open_state_for_write(const std::optional<std::string>& flag) {
  return store::SqliteStore::open(store::resolve_state_path(flag), {.create = true});
}

std::unique_ptr<store::Store> open_state_for_read(const std::optional<std::string>& flag) {
  try {
    return store::SqliteStore::open(store::resolve_state_path(flag), {.create = false});
  } catch (const store::StoreMissingError&) {
    return nullptr;
  }
}

std::unique_ptr<store::Store> open_state_for_sync(const std::optional<std::string>& flag) {
  const std::string path = store::resolve_state_path(flag);
  try {
    return store::SqliteStore::open(path, {.create = false});
  } catch (const store::StoreMissingError& e) {
    const char* env = std::getenv(store::kStatePathEnv);
    const std::string from = flag                ? "--state"
                             : (env && *env)     ? "$PORTWAY_STATE"
                                                 : "the default: no --state, $PORTWAY_STATE unset";
    throw EnvironmentError(std::string(e.what()) + " (path from " + from +
                           "); refusing to sync from no store, which would remove every frontend "
                           "from this node. Give the state database that apply wrote (--state or "
                           "$PORTWAY_STATE), or run `portway sync --remove-all` to remove them on "
                           "purpose");
  }
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace portway::cli
