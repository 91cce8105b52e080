// The daemon's reconcile loop (docs/daemon.md): one thread, one epoll over
//   - the store watch (a commit by any process wakes it; generation() says whether to act),
//   - a timerfd every resync_seconds (a full read-back of the kernel, repairing drift),
//   - a signalfd (SIGTERM/SIGINT: return, leaving the dataplane forwarding; SIGHUP: re-read
//     the node file, program with it, then a full check),
//   - rtnetlink link events (an uplink or sandbox interface appearing, going, re-created, or
//     its XDP program changed: a check at once),
//   - the check worker's eventfd (a check's kernel read-back is done).
// Programming goes through agent::NodeDataplane: sync() first (adopting what is installed,
// so a restart is hitless), then apply_changes() with each IncrementalCompiler::catch_up()
// diff, a check on the timer, SIGHUP and link events.
//
// A check's read-back (seconds for nft at 10,000 Services) runs on the CheckWorker's thread
// while this loop keeps applying store changes; its repair then runs here
// (NodeDataplane::begin_check / finish_check). One check at a time: a trigger while one runs
// queues one more, which starts when it ends. SIGTERM does not wait for a read in flight.
//
// Faults never leave a partial state: when the store cannot be read the compiled state and
// the kernel stay as they were, and when programming fails the next attempt is a full sync.
// Both are reported (DaemonStatus store_error / program_error) and retried with backoff.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/node_dataplane.h"
#include "config/node_settings.h"
#include "daemon/change_clock.h"
#include "daemon/check_worker.h"
#include "daemon/status_board.h"
#include "daemon/systemd_notify.h"
#include "state/incremental_compile.h"
#include "store/store.h"

namespace portway::daemon {

struct DaemonOptions {
  std::string state_path;  // the state database (it need not exist yet)
  // Re-reads the node file (SIGHUP). Throws (with a message for the log) when it is invalid;
  // the daemon then keeps the settings it has.
  std::function<config::NodeSettings()> reload_settings;
  // Reasons the compiled state must not be programmed on this node (reserved node ports
  // claimed); empty when it may. Asked (like after_programming) only when the node ports may
  // have changed: a full programming, or a change whose diff has node ports.
  std::function<std::vector<std::string>(const state::DataplaneState&, const config::NodeSettings&)> refuse;
  // Called after the kernel holds a new state whose node ports may differ (the node-port
  // reservation).
  std::function<void(const state::DataplaneState&)> after_programming;
  // How long one read of the store may wait for a lock before it counts as a store fault.
  std::chrono::milliseconds store_busy_timeout{1000};
  // How the node's dataplanes are made (tests wrap the real ones).
  agent::DataplaneFactory factory = agent::make_dataplane;
};

class ReconcileLoop {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP (they arrive through a signalfd; threads started after
  // this inherit the mask) and takes the node's pin-folder lock without waiting: throws
  // loader::PinFolderBusy naming the holder when another daemon or a sync has it.
  ReconcileLoop(DaemonOptions options, config::NodeSettings settings, StatusBoard& board);
  ~ReconcileLoop();
  ReconcileLoop(const ReconcileLoop&) = delete;
  ReconcileLoop& operator=(const ReconcileLoop&) = delete;

  // Runs until SIGTERM or SIGINT; returns the exit code (0). Throws only when the loop's own
  // machinery (epoll, the watches) fails.
  int run();

 private:
  using Clock = std::chrono::steady_clock;

  void program_store();
  void open_store_if_needed();
  void program(bool whole, const state::StateDiff& d);
  void start_check();
  void finish_check();
  void reload();
  void on_links();
  bool relevant_interface(const std::string& ifname) const;

  void store_fault(const std::string& why);
  void program_fault(const std::string& why);
  void schedule_retry();
  void arm_resync_timer();
  void publish();

  DaemonOptions options_;
  StatusBoard& board_;
  DaemonStatus status_;
  SystemdNotifier notifier_;
  agent::NodeDataplane dp_;
  std::unique_ptr<store::Store> store_;
  std::pair<dev_t, ino_t> store_file_{0, 0};  // the file store_ has open
  state::IncrementalCompiler compiler_;
  bool need_reset_ = true;   // the compiler must compile the whole store
  bool need_sync_ = true;    // the kernel must be brought to the compiled state with a full sync
  bool store_dirty_ = true;  // the store may have changed since it was last read
  bool check_pending_ = false;
  std::string check_reason_;
  // The check whose read runs on the worker, why, and since when.
  std::optional<agent::PendingCheck> in_flight_;
  std::string in_flight_reason_;
  Clock::time_point in_flight_since_;
  ChangeClock clock_;  // when the change being programmed started
  std::optional<Clock::time_point> retry_at_;
  // A wake from the store watch comes with the writer's last write to the -wal file; the
  // commit becomes visible when the writer updates the wal-index (shared memory, which
  // inotify does not see) right after. A wake that finds the generation unchanged is
  // therefore read again a few times, 1, 4 and 16 ms later.
  std::optional<Clock::time_point> recheck_at_;
  int rechecks_left_ = 0;
  std::chrono::milliseconds backoff_{0};
  std::uint64_t programmed_generation_ = 0;
  double last_change_seconds_ = 0;
  dataplane::SyncStatus last_written_;

  struct Fds;
  std::unique_ptr<Fds> fds_;
  // Last: destroyed first, without waiting for a read in flight.
  std::optional<CheckWorker> checker_;
};

}  // namespace portway::daemon
