// What the last `portway sync` (or the daemon's last reconcile) did, kept next to the state
// database so `portway status` can say which dataplane is active and why without touching
// the kernel: <state dir>/dataplane.json, mode 0600, replaced atomically (write + rename).
#pragma once

#include <cstdint>
#include <map>
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

  // The generation the kernel holds, and since when: a sync programs the generation it read;
  // the daemon (daemon_pid != 0) records here after every step of its loop, so `portway
  // status` can show the store ahead of the kernel, a store or programming error, and the
  // drift it repaired (docs/daemon.md "Status").
  std::uint64_t programmed_generation = 0;
  std::int64_t last_programmed_ms = 0;  // Unix epoch
  int daemon_pid = 0;                   // 0: written by `portway sync`
  std::int64_t last_check_ms = 0;       // the daemon's last full read-back
  double last_change_seconds = 0;       // the daemon's last store change -> kernel programmed
  std::string store_error;              // why the daemon could not read the store ("" = it could)
  std::string program_error;            // why its last programming failed ("" = it did not)
  bool ready = false;                   // programmed_generation is the store's
  std::map<std::string, std::uint64_t> drift_repairs;  // kind -> repairs by the daemon

  bool operator==(const SyncStatus&) const = default;
};

nlohmann::json to_json(const SyncStatus& s);
SyncStatus sync_status_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception

std::string sync_status_path(const std::string& state_db_path);

// Throws std::system_error on I/O failure.
void save_sync_status(const std::string& path, const SyncStatus& s);
std::optional<SyncStatus> load_sync_status(const std::string& path);  // nullopt: none yet

}  // namespace portway::dataplane
