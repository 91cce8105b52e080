// What `portway stats --json` prints and `GET /v1/stats` answers (docs/api.md).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "dataplane/dataplane.h"
#include "store/store.h"

namespace portway::ops {

// {"dataplane","frontends":{KEY:{"packets","bytes","new_flows","rejected"}},"backends":{...},
//  "drops":{REASON:N},"events":{EVENT:N}}
nlohmann::json stats_json(const dataplane::Stats& s, std::string_view dataplane);

// Attributes `s` (dataplane::attribute) to the Services the store compiles to: how a command
// without the daemon's programmed state names Services. No store: nothing attributed.
void attribute_to_store(dataplane::Stats& s, store::Store* store);

}  // namespace portway::ops
