// What `portway status --json` prints and `GET /v1/status` answers (docs/api.md): the active
// dataplane and why, its attachments, map fill levels and the fast path's flow table.
#pragma once

#include <nlohmann/json.hpp>

#include "config/node_settings.h"
#include "ops/active_dataplane.h"

namespace portway::ops {

// {"active","last_sync","kernel_note","attachments":[{"interface","hook","mode"}],
//  "fill":{NAME:{"used","capacity"}}[, "flows_evicted"]}. "active" is what the kernel holds
// (active_dataplane.h); "kernel_note" says where the last sync's record disagrees (null when
// it does not); nftables' fill has capacity null (the table has no fixed size).
nlohmann::json status_json(const config::NodeSettings& settings, const ActiveDataplane& active);

// Adds how far the kernel is behind the store (docs/daemon.md "Status"): "store_generation"
// (read now; null without a store, {"error"} when unreadable), "programmed_generation",
// "programmed_ago_ms" and "last_sync_ago_ms" from the status record (the record's epoch
// times stay under "last_sync"), and "daemon" (null unless a daemon wrote the
// record: {"pid","running","ready","store_error","program_error","last_check_ms",
// "last_change_seconds","drift_repairs"}).
void add_generations(nlohmann::json& j, const std::string& state_path, const ActiveDataplane& active,
                     std::int64_t now_ms);

}  // namespace portway::ops
