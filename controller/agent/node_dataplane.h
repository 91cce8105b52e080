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
// Choosing is dataplane::probe::choose_dataplane (dataplane/probe/choose.h): `xdp` and `nft`
// as asked (a failing asked-for dataplane is an error, not a silent switch); `auto` loads and
// attaches the fast path and falls back to nftables when it fails and none was running, with
// the reason. Never both for longer than a switch: the chosen one is complete first
// (Dataplane::take_over carries the established flows over), then the other one hands over.
// The dataplane that was chosen stays with this object, so later changes reuse what it knows
// of the kernel (nftables' view: apply_changes without a read-back).
//
// A check has a read phase and a repair phase (docs/operations.md "Drift repair"):
// begin_check() hands out the reader, whose read() may run on another thread while this
// object keeps applying changes; finish_check() repairs on the owner's thread. check() does
// both in a row.
//
// Not thread-safe: one thread drives it (the daemon's reconcile loop); only a reader from
// begin_check() runs elsewhere.
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
  // kind -> count; the kinds are listed in docs/operations.md "Drift repair"
  std::map<std::string, std::uint64_t> repairs;
  std::vector<std::string> notes;                // one line per repair, for the log
  bool repaired() const { return !repairs.empty(); }
};

// The read phase of a check, from begin_check(). `reader` is null when the active dataplane
// reads inside the repair (its read is cheap).
struct PendingCheck {
  std::unique_ptr<dataplane::KernelReader> reader;
  std::uint64_t epoch = 0;  // which sync's dataplane made the reader
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
  // The two phases of check(). finish_check() takes what pending.reader->read() returned (or
  // null to read now); a reading made before a later sync() is not used (the dataplane may
  // have changed): the repair reads again. The caller keeps the reading: freeing a dump of
  // 10,000 Services takes longer than the repair, so it is better dropped off the loop.
  PendingCheck begin_check();
  CheckReport finish_check(const PendingCheck& pending, const dataplane::KernelReading* reading);

  // New node settings (SIGHUP): the next sync() uses them.
  void update_settings(const config::NodeSettings& settings, config::DataplaneChoice choice);

  // The active dataplane's counters, attributed to the Services of desired().
  dataplane::Stats stats();
  // What the active dataplane holds, read back from the kernel (for tests and `status`).
  state::DataplaneState installed();

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
  // The dataplane for `kind`: the active one when it is of that kind and the settings did not
  // change since it was made, else a new one.
  std::unique_ptr<dataplane::Dataplane> take_or_make(dataplane::Kind kind, const config::NodeSettings& chosen);

  std::unique_ptr<dataplane::Dataplane> active_;
  bool settings_changed_ = false;  // active_ was made with other settings
  std::uint64_t epoch_ = 0;        // sync() count
  std::string reason_;
  state::DataplaneState desired_;
  std::uint64_t generation_ = 0;
};

}  // namespace portway::agent
