// What the last `portway sync` (or the daemon's last reconcile) did, kept next to the state
// database so `portway status` can say which dataplane is active and why without touching
// the kernel: <state dir>/dataplane.json, mode 0600, replaced atomically (write + rename).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace portway::dataplane {

struct SyncStatus {
  std::string dataplane;         // "xdp" or "nft"
  std::string requested;         // "auto", "xdp" or "nft"
  std::string reason;            // why this dataplane (e.g. the fast path's failure under auto)
  std::int64_t last_sync_ms = 0; // Unix epoch
  std::uint64_t store_generation = 0;
  std::size_t changes = 0;       // entries changed by that sync
  std::vector<std::string> notes;

  bool operator==(const SyncStatus&) const = default;
};

nlohmann::json to_json(const SyncStatus& s);
SyncStatus sync_status_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception

std::string sync_status_path(const std::string& state_db_path);

// Throws std::system_error on I/O failure.
void save_sync_status(const std::string& path, const SyncStatus& s);
std::optional<SyncStatus> load_sync_status(const std::string& path);  // nullopt: none yet

}  // namespace portway::dataplane
