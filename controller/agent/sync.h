// One reconcile of the node: compile the store, choose the dataplane, make the kernel match,
// and record what happened. `portway sync` runs it once; the lab runs it per dataplane; the
// daemon will run it on every change.
//
// Choosing is dataplane::probe::choose_dataplane (dataplane/probe/choose.h): `xdp` and `nft`
// as asked (a failing asked-for dataplane is an error, not a silent switch); `auto` loads and
// attaches the fast path and falls back to nftables when it fails and none was running, with
// the reason. Never both for longer than a switch: the chosen one is complete first (a switch
// carries the established flows over, dataplane/handoff/switch_steps.h), then the other one's
// state is removed.
//
// Only the holder of the node's pin-folder lock (loader/pin_folder_lock.h) may sync: two
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

// Chooses, brings the chosen dataplane up with `desired`, then removes the other one's state.
// `held` is the lock of settings.bpffs_dir (std::logic_error otherwise). Throws when the chosen
// dataplane fails (DataplaneUnavailable for an explicit xdp, and for auto when a running fast
// path could not be refreshed; otherwise when nftables fails).
SyncOutcome sync_dataplane(const loader::PinFolderLock& held, const state::DataplaneState& desired,
                           const config::NodeSettings& settings, config::DataplaneChoice choice,
                           const DataplaneFactory& factory = make_dataplane);

dataplane::SyncStatus status_of(const SyncOutcome& outcome, config::DataplaneChoice requested,
                                std::int64_t now_ms);

}  // namespace portway::agent
