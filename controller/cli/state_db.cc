#include "cli/state_db.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "store/sqlite_store.h"
#include "store/state_file.h"

namespace portway::cli {

std::unique_ptr<store::Store> open_state_for_write(const std::optional<std::string>& flag) {
  return store::SqliteStore::open(store::resolve_state_path(flag), {.create = true});
}

std::unique_ptr<store::Store> open_state_for_read(const std::optional<std::string>& flag) {
  const std::string path = store::resolve_state_path(flag);
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return nullptr;
  return store::SqliteStore::open(path, {.create = false});
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace portway::cli
