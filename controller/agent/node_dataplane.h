// The one owner of a node's dataplane: `portway sync`, the lab and the daemon all program the
// kernel through it. It holds the node's pin-folder lock for its whole life (one writer per
// node), remembers the state it programmed and at which store generation, and offers the three
// things a level-triggered agent needs:
//
//   sync()          full: choose the dataplane, adopt what is installed, make the kernel hold
//                   `desired` changing only the difference (a restart is hitless because of it)
//   apply_changes() incremental: one per-Service diff, programmed without a whole-state diff
//   check()         read the kernel back, repair drift against the last desired state, and
//                   count the repairs by kind
//
// Not thread-safe: one thread drives it (the daemon's reconcile loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/sync.h"
#include "config/node_settings.h"
#include "dataplane/dataplane.h"
#include "loader/pin_folder_lock.h"
#include "state/dataplane_state.h"
#include "state/diff.h"

namespace portway::agent {

struct CheckReport {
  std::map<std::string, std::uint64_t> repairs;  // kind ("nft_table", "xdp_detached", ...) -> count
  std::vector<std::string> notes;                // one line per repair, for the log
  bool repaired() const { return !repairs.empty(); }
};

class NodeDataplane {
 public:
  // Takes the lock of settings.bpffs_dir, waiting up to `lock_wait` (throws
  // loader::PinFolderBusy naming the holder). Touches nothing in the kernel yet.
  NodeDataplane(config::NodeSettings settings, config::DataplaneChoice choice,
                std::chrono::milliseconds lock_wait = kDefaultLockWait,
                DataplaneFactory factory = make_dataplane);
  ~NodeDataplane();
  NodeDataplane(const NodeDataplane&) = delete;
  NodeDataplane& operator=(const NodeDataplane&) = delete;

  // Chooses the dataplane and makes the kernel hold `desired` (see sync_dataplane). On a
  // throw the previous programming (if any) is still what the kernel does and desired() is
  // unchanged.
  SyncOutcome sync(const state::DataplaneState& desired, std::uint64_t generation);

  // Programs `d` on top of desired() and records `generation`. sync() must have succeeded.
  // Throws std::invalid_argument (nothing written) when `d` does not fit desired().
  dataplane::ApplyReport apply_changes(const state::StateDiff& d, std::uint64_t generation);

  // Reads the kernel back and repairs whatever differs from desired() (missing table or
  // program, removed pin, re-created interface). sync() must have succeeded.
  CheckReport check();

  // New node settings (SIGHUP): the next sync() uses them.
  void update_settings(const config::NodeSettings& settings, config::DataplaneChoice choice);

  // The active dataplane's counters, attributed to the Services of desired().
  dataplane::Stats stats();

  bool synced() const { return active_ != nullptr; }
  dataplane::Kind active() const;
  const std::string& reason() const { return reason_; }
  const state::DataplaneState& desired() const { return desired_; }
  std::uint64_t programmed_generation() const { return generation_; }
  const config::NodeSettings& settings() const { return settings_; }
  const loader::PinFolderLock& lock() const { return lock_; }

 private:
  config::NodeSettings settings_;
  config::DataplaneChoice choice_;
  DataplaneFactory factory_;
  loader::PinFolderLock lock_;
  std::unique_ptr<dataplane::Dataplane> active_;
  std::string reason_;
  state::DataplaneState desired_;
  std::uint64_t generation_ = 0;
};

}  // namespace portway::agent
