// What status and stats share: which dataplane is active on this node (from the last sync's
// record, else from what is installed) and the objects to ask.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/node_settings.h"
#include "dataplane/dataplane.h"
#include "dataplane/sync_status.h"

namespace portway::ops {

struct ActiveDataplane {
  std::optional<dataplane::SyncStatus> last_sync;  // nullopt: never synced with this state dir
  std::optional<dataplane::Kind> kind;             // nullopt: nothing installed
  std::unique_ptr<dataplane::Dataplane> dataplane;
};

// `state_path`: the state database whose last sync record (next to it) is read.
ActiveDataplane find_active_dataplane(const std::string& state_path, const config::NodeSettings& settings);

}  // namespace portway::ops
