// What `portway status --json` prints and `GET /v1/status` answers (docs/api.md): the active
// dataplane and why, its attachments, map fill levels and the fast path's flow table.
#pragma once

#include <nlohmann/json.hpp>

#include "config/node_settings.h"
#include "ops/active_dataplane.h"

namespace portway::ops {

// {"active","last_sync","attachments":[{"interface","hook","mode"}],"fill":{NAME:{"used",
//  "capacity"}}[, "flows_evicted"]}
nlohmann::json status_json(const config::NodeSettings& settings, const ActiveDataplane& active);

}  // namespace portway::ops
