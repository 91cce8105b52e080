// What a sync of the node needs around agent::NodeDataplane (node_dataplane.h, which does the
// choosing and programming): compiling the store, making the dataplanes, the node's lock, and
// the status `portway status` shows afterwards.
//
// Only the holder of the node's pin-folder lock (loader/pin_folder_lock.h) may program: two
// writers would interleave their changes to the same maps, links and table.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/node_settings.h"
#include "dataplane/dataplane.h"
#include "dataplane/sync_status.h"
#include "loader/pin_folder_lock.h"
#include "state/dataplane_state.h"
#include "store/store.h"

namespace portway::agent {

struct SyncOutcome {
  dataplane::Kind active = dataplane::Kind::nft;
  std::string reason;                 // why this dataplane
  dataplane::ApplyReport report;
  std::uint64_t store_generation = 0;
};

// How a dataplane is made: the product uses make_dataplane; tests substitute fakes.
using DataplaneFactory =
    std::function<std::unique_ptr<dataplane::Dataplane>(dataplane::Kind, const config::NodeSettings&)>;
std::unique_ptr<dataplane::Dataplane> make_dataplane(dataplane::Kind kind,
                                                     const config::NodeSettings& settings);

// The compiled state of the store (empty when `store` is null: nothing applied yet).
state::DataplaneState compile_store(store::Store* store, std::uint64_t* generation = nullptr);

// How long `portway sync` and the lab wait for another writer of the pin folder by default.
inline constexpr std::chrono::milliseconds kDefaultLockWait{10000};

// The lock of the node's pin folder (settings.bpffs_dir), waiting up to `wait` for another
// writer. Throws loader::PinFolderBusy naming the holder, loader::EphemeralMounts when the pins
// would not outlive the process, loader::Error for the folder.
loader::PinFolderLock lock_node(const config::NodeSettings& settings,
                                std::chrono::milliseconds wait = kDefaultLockWait);

dataplane::SyncStatus status_of(const SyncOutcome& outcome, config::DataplaneChoice requested,
                                std::int64_t now_ms);

}  // namespace portway::agent
