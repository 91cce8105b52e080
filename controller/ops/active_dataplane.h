// What status, stats and dump share: which dataplane is active on this node, as the kernel
// shows it (docs/operations.md "Reading a node"), and the objects to ask.
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
  // Where the kernel and the record disagree, in words: the record names a dataplane whose
  // objects are not on this node (e.g. the nft table missing from this network namespace), or
  // the kernel could not be asked. "" when the kernel confirms what `kind` says.
  std::string kernel_note;
};

// `state_path`: the state database whose last sync record (next to it) is read. The fast path
// is active when its pins exist; else nftables when the table inet portway exists in the
// calling thread's network namespace. The record only explains why (its reason, its times).
ActiveDataplane find_active_dataplane(const std::string& state_path, const config::NodeSettings& settings);

}  // namespace portway::ops
