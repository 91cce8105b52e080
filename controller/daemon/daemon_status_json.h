// The daemon's own state as JSON: the "daemon" object of GET /v1/status (docs/api.md).
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/daemon_status.h"

namespace portway::daemon {

// {"pid","started_ms","dataplane","requested","reason","store_generation",
//  "programmed_generation","last_programmed_ms","last_check_ms","store_error","program_error",
//  "ready","drift_repairs":{KIND:N}}
nlohmann::json to_json(const DaemonStatus& s);

}  // namespace portway::daemon
