#include "daemon/reconcile_loop.h"

#include <fnmatch.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "daemon/store_watch.h"
#include "dataplane/sync_status.h"
#include "loader/unique_fd.h"
#include "netlink/link_events.h"
#include "state/diff.h"
#include "store/sqlite_store.h"

namespace portway::daemon {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{30000};

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

sigset_t daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

std::system_error sys_error(const std::string& what) {
  return std::system_error(errno, std::generic_category(), what);
}

std::size_t entries_of(const state::StateDiff& d) {
  return d.frontends.size() + d.node_ports.size() + d.backend_sets.size();
}

}  // namespace

struct ReconcileLoop::Fds {
  loader::UniqueFd epoll, signals, resync_timer;
  std::optional<StoreWatch> store;
  std::optional<netlink::LinkWatch> links;
};

ReconcileLoop::ReconcileLoop(DaemonOptions options, config::NodeSettings settings, StatusBoard& board)
    : options_(std::move(options)),
      board_(board),
      dp_(settings, settings.dataplane, std::chrono::milliseconds(0), options_.factory),
      fds_(std::make_unique<Fds>()) {
  const sigset_t set = daemon_signals();
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) throw std::runtime_error("blocking signals failed");
  fds_->signals = loader::UniqueFd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fds_->signals) throw sys_error("signalfd");
  fds_->epoll = loader::UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!fds_->epoll) throw sys_error("epoll");
  fds_->resync_timer = loader::UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fds_->resync_timer) throw sys_error("timerfd");
  checker_.emplace();  // after the mask: its thread keeps the signals blocked

  // The directory is watched, so it must exist: created like `portway apply` would (0700).
  const std::filesystem::path dir = std::filesystem::path(options_.state_path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir)) {
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  }
  fds_->store.emplace(options_.state_path);
  fds_->links.emplace();

  status_.pid = static_cast<int>(::getpid());
  status_.started_ms = epoch_ms();
  status_.requested = std::string(config::to_string(settings.dataplane));
}

ReconcileLoop::~ReconcileLoop() = default;

void ReconcileLoop::arm_resync_timer() {
  itimerspec spec{};
  spec.it_value.tv_sec = dp_.settings().resync_seconds;
  spec.it_interval.tv_sec = dp_.settings().resync_seconds;
  if (::timerfd_settime(fds_->resync_timer.get(), 0, &spec, nullptr) != 0) throw sys_error("timerfd_settime");
}

int ReconcileLoop::run() {
  const auto add = [&](int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(fds_->epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw sys_error("epoll_ctl");
  };
  add(fds_->signals.get());
  add(fds_->store->fd());
  add(fds_->links->fd());
  add(fds_->resync_timer.get());
  add(checker_->fd());
  arm_resync_timer();
  spdlog::info("daemon pid {} started: state {}, pin folder {}, resync every {} s", status_.pid,
               options_.state_path, dp_.settings().bpffs_dir, dp_.settings().resync_seconds);

  for (;;) {
    if (store_dirty_ || (retry_at_ && Clock::now() >= *retry_at_) ||
        (recheck_at_ && Clock::now() >= *recheck_at_))
      program_store();
    if (check_pending_ && !in_flight_) {
      check_pending_ = false;
      start_check();
    }
    publish();

    int timeout_ms = -1;
    for (const auto& at : {retry_at_, recheck_at_}) {
      if (!at) continue;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*at - Clock::now());
      const int ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    }
    epoll_event events[8];
    const int n = ::epoll_wait(fds_->epoll.get(), events, 8, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("epoll_wait");
    }
    const auto woke = Clock::now();
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == fds_->signals.get()) {
        signalfd_siginfo info{};
        while (::read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          if (info.ssi_signo == SIGHUP) {
            spdlog::info("SIGHUP: re-reading the node file and checking the kernel");
            reload();
            continue;
          }
          spdlog::info("{}: stopping; the dataplane stays programmed and forwarding{}",
                       info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
                       in_flight_ ? " (the check's read-back in flight is abandoned)" : "");
          notifier_.stopping();
          publish();
          return 0;
        }
      } else if (fd == fds_->store->fd()) {
        const StoreWatch::Change change = fds_->store->drain();
        if (change != StoreWatch::Change::kNone) {
          store_dirty_ = true;
          rechecks_left_ = 3;
          clock_.woke(change, woke);
        }
      } else if (fd == checker_->fd()) {
        finish_check();
      } else if (fd == fds_->links->fd()) {
        on_links();
      } else if (fd == fds_->resync_timer.get()) {
        std::uint64_t expirations = 0;
        if (::read(fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) throw sys_error("timerfd read");
        if (!check_pending_) check_reason_ = "resync timer";
        check_pending_ = true;
      }
    }
  }
}

void ReconcileLoop::open_store_if_needed() {
  struct stat st{};
  if (::stat(options_.state_path.c_str(), &st) != 0) {
    store_.reset();
    throw store::StoreMissingError("no state database at " + options_.state_path +
                                   " (nothing applied yet); waiting for it");
  }
  // Replaced by another file (a restore): read that one from scratch.
  if (store_ && std::pair(st.st_dev, st.st_ino) != store_file_) store_.reset();
  // Opened while its file system was read-only (for reading only, blind to new writes): once
  // it is writable again, a writer's commit is only seen by a connection opened afresh.
  if (store_ && store_->read_only() && !store::file_system_read_only(options_.state_path)) store_.reset();
  if (store_) return;
  store_ = store::SqliteStore::open(options_.state_path,
                                    {.create = false, .busy_timeout = options_.store_busy_timeout});
  store_file_ = {st.st_dev, st.st_ino};
  need_reset_ = true;
  if (store_->read_only())
    spdlog::warn("the state database's file system is read-only: reading it as it is until it is writable again");
}

void ReconcileLoop::program_store() {
  const auto read_at = Clock::now();
  store_dirty_ = false;
  retry_at_.reset();
  recheck_at_.reset();
  bool whole = false;
  state::StateDiff d;
  try {
    open_store_if_needed();
    if (need_reset_) {
      compiler_.reset(*store_);
      need_reset_ = false;
      whole = true;
    } else {
      d = compiler_.catch_up(*store_);
    }
  } catch (const std::exception& e) {
    // Closed so the next attempt opens the file afresh (it may be replaced or repaired).
    store_.reset();
    return store_fault(e.what());
  }
  if (!whole && compiler_.generation() == programmed_generation_) {
    const bool after_marker = clock_.committed();
    clock_.found_nothing_new(read_at);
    if (!need_sync_ && rechecks_left_ > 0 && !after_marker) {
      // Nothing new yet: the commit that woke the loop may not be visible for a moment. (After
      // a marker's wake there is nothing to wait for: its commit was visible before the touch.)
      recheck_at_ = Clock::now() + std::chrono::milliseconds(1 << (2 * (3 - rechecks_left_)));
      --rechecks_left_;
      return;
    }
  }
  status_.store_generation = compiler_.generation();
  if (!status_.store_error.empty()) spdlog::info("the store is readable again");
  status_.store_error.clear();
  program(whole, d);
}

void ReconcileLoop::program(bool whole, const state::StateDiff& d) {
  const std::uint64_t generation = compiler_.generation();
  // The node-port checks and the reservation look at every node port (10,000 at the size the
  // daemon is built for: a millisecond): only a full programming or a change of node ports
  // can make their answer differ from the last one.
  const bool node_ports_may_differ = whole || need_sync_ || !dp_.synced() || !d.node_ports.empty();
  if (options_.refuse && node_ports_may_differ) {
    if (const auto reasons = options_.refuse(compiler_.state(), dp_.settings()); !reasons.empty()) {
      // The kernel keeps what it has; the next success must bring it to the compiled state.
      need_sync_ = true;
      std::string why;
      for (const auto& r : reasons) why += (why.empty() ? "" : "; ") + r;
      return program_fault("not programmed (generation " + std::to_string(generation) + "): " + why);
    }
  }
  std::size_t changed = 0;
  try {
    if (need_sync_ || !dp_.synced()) {
      const agent::SyncOutcome out = dp_.sync(compiler_.state(), generation);
      changed = entries_of(out.report.applied);
      for (const auto& note : out.report.notes) spdlog::info("sync: {}", note);
      spdlog::info("programmed generation {} with a full sync on {} ({}): {} changes", generation,
                   dataplane::to_string(out.active), out.reason, changed);
      need_sync_ = false;
      checker_->trim_heap();  // what the full programming freed (hundreds of MB on nft)
    } else {
      const state::StateDiff whole_diff = whole ? state::diff(dp_.desired(), compiler_.state()) : state::StateDiff{};
      const state::StateDiff& step = whole ? whole_diff : d;
      if (!step.empty()) {
        dp_.apply_changes(step, generation);
        changed = entries_of(step);
        for (const auto& line : state::describe(step)) spdlog::info("generation {}: {}", generation, line);
      }
    }
  } catch (const std::exception& e) {
    need_sync_ = true;
    return program_fault(e.what());
  }
  const auto done = Clock::now();
  if (programmed_generation_ == generation) {
    clock_.reset();
  } else if (const auto took = clock_.programmed(done)) {
    last_change_seconds_ = took->count();
    status_.sync_seconds.observe(last_change_seconds_);
  }
  if (changed > 0 && node_ports_may_differ && options_.after_programming) {
    try {
      options_.after_programming(compiler_.state());
    } catch (const std::exception& e) {
      spdlog::warn("after programming generation {}: {}", generation, e.what());
    }
  }
  if (changed > 0 || programmed_generation_ != generation || status_.last_programmed_ms == 0)
    status_.last_programmed_ms = epoch_ms();
  programmed_generation_ = generation;
  if (!status_.program_error.empty()) spdlog::info("programming works again");
  status_.program_error.clear();
  backoff_ = std::chrono::milliseconds(0);
  status_.dataplane = std::string(dataplane::to_string(dp_.active()));
  status_.reason = dp_.reason();
}

void ReconcileLoop::start_check() {
  if (!dp_.synced()) return;  // nothing programmed yet: nothing to compare the kernel with
  in_flight_reason_ = check_reason_;
  in_flight_since_ = Clock::now();
  try {
    agent::PendingCheck pending = dp_.begin_check();
    std::unique_ptr<dataplane::KernelReader> reader = std::move(pending.reader);
    in_flight_ = std::move(pending);
    // No reader: the dataplane reads inside the repair (cheap), so finish at once.
    if (!reader) return finish_check();
    checker_->start(std::move(reader));
  } catch (const std::exception& e) {
    in_flight_.reset();
    need_sync_ = true;
    program_fault("check (" + in_flight_reason_ + ") failed: " + e.what());
  }
}

void ReconcileLoop::finish_check() {
  if (!in_flight_) return;
  const agent::PendingCheck pending = std::move(*in_flight_);
  in_flight_.reset();
  const std::string& why = in_flight_reason_;
  std::unique_ptr<dataplane::KernelReading> reading;
  try {
    if (checker_->busy()) reading = checker_->take();
    const auto read_done = Clock::now();
    const agent::CheckReport report = dp_.finish_check(pending, reading.get());
    const auto done = Clock::now();
    status_.last_check_ms = epoch_ms();
    for (const auto& [kind, count] : report.repairs) status_.drift_repairs[kind] += count;
    if (report.repaired()) {
      for (const auto& note : report.notes) spdlog::warn("drift repaired ({}): {}", why, note);
      for (const auto& [kind, count] : report.repairs) spdlog::warn("drift repaired ({}): {} x {}", why, count, kind);
    }
    spdlog::info("check ({}) took {:.3f} s (read {:.3f} s, repair {:.3f} s): {}", why,
                 std::chrono::duration<double>(done - in_flight_since_).count(),
                 std::chrono::duration<double>(read_done - in_flight_since_).count(),
                 std::chrono::duration<double>(done - read_done).count(),
                 report.repaired() ? "drift repaired" : "no drift");
  } catch (const std::exception& e) {
    need_sync_ = true;
    program_fault("check (" + why + ") failed: " + e.what());
  }
  checker_->discard(std::move(reading));
}

void ReconcileLoop::reload() {
  try {
    config::NodeSettings next = options_.reload_settings();
    if (next.bpffs_dir != dp_.settings().bpffs_dir)
      throw std::runtime_error("bpffs_dir cannot change while the daemon runs (it holds the lock of " +
                               dp_.settings().bpffs_dir + "); restart the daemon to move it");
    const config::DataplaneChoice choice = next.dataplane;
    dp_.update_settings(next, choice);
    status_.requested = std::string(config::to_string(choice));
    arm_resync_timer();
    spdlog::info("node file re-read: dataplane {}, resync every {} s", config::to_string(choice),
                 next.resync_seconds);
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: keeping the current node settings: {}", e.what());
  }
  // A full sync with the (new) settings, then a read-back of the kernel.
  need_sync_ = true;
  store_dirty_ = true;
  check_pending_ = true;
  check_reason_ = "SIGHUP";
}

bool ReconcileLoop::relevant_interface(const std::string& ifname) const {
  const auto& s = dp_.settings();
  if (std::find(s.uplinks.begin(), s.uplinks.end(), ifname) != s.uplinks.end()) return true;
  for (const auto& glob : s.sandbox_interfaces)
    if (::fnmatch(glob.c_str(), ifname.c_str(), 0) == 0) return true;
  return false;
}

void ReconcileLoop::on_links() {
  std::vector<netlink::LinkChange> changes;
  try {
    changes = fds_->links->drain();
  } catch (const std::exception& e) {
    spdlog::warn("link events: {}; the resync timer still checks", e.what());
    return;
  }
  for (const auto& c : changes) {
    if (!relevant_interface(c.ifname)) continue;
    spdlog::info("interface {} (ifindex {}) {}: checking", c.ifname, c.ifindex, netlink::to_string(c.kind));
    if (!check_pending_) check_reason_ = "interface " + c.ifname + " " + netlink::to_string(c.kind);
    check_pending_ = true;
  }
}

void ReconcileLoop::schedule_retry() {
  backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
  retry_at_ = Clock::now() + backoff_;
}

void ReconcileLoop::store_fault(const std::string& why) {
  if (status_.store_error != why)
    spdlog::error("store: {}; the kernel keeps generation {}; retrying", why, programmed_generation_);
  status_.store_error = why;
  schedule_retry();
}

void ReconcileLoop::program_fault(const std::string& why) {
  if (status_.program_error != why)
    spdlog::error("programming: {}; the kernel keeps generation {}; retrying", why, programmed_generation_);
  status_.program_error = why;
  schedule_retry();
}

void ReconcileLoop::publish() {
  status_.programmed_generation = programmed_generation_;
  status_.ready = dp_.synced() && status_.store_error.empty() && status_.program_error.empty() &&
                  programmed_generation_ == status_.store_generation;
  dataplane::SyncStatus record;
  record.dataplane = status_.dataplane;
  record.requested = status_.requested;
  record.reason = status_.reason;
  record.last_sync_ms = status_.last_programmed_ms;
  record.store_generation = status_.store_generation;
  record.programmed_generation = programmed_generation_;
  record.last_programmed_ms = status_.last_programmed_ms;
  record.daemon_pid = status_.pid;
  record.last_check_ms = status_.last_check_ms;
  record.last_change_seconds = last_change_seconds_;
  record.store_error = status_.store_error;
  record.program_error = status_.program_error;
  record.ready = status_.ready;
  record.drift_repairs = status_.drift_repairs;
  if (record != last_written_) {
    const std::string path = dataplane::sync_status_path(options_.state_path);
    try {
      dataplane::save_sync_status(path, record);
      last_written_ = record;
      if (!status_.status_record_error.empty()) spdlog::info("the status record in {} is written again", path);
      status_.status_record_error.clear();
    } catch (const std::exception& e) {
      // Said once per new reason, not at every wake; `portway status` reads this record, so the
      // API and the metrics carry the reason meanwhile.
      if (status_.status_record_error != e.what())
        spdlog::warn("could not record the status in {}: {} (the API and metrics still report it)", path, e.what());
      status_.status_record_error = e.what();
    }
  }
  board_.publish(status_);

  std::string line;
  if (!status_.store_error.empty()) line = "store unreadable, keeping generation " + std::to_string(programmed_generation_) + ": " + status_.store_error;
  else if (!status_.program_error.empty()) line = "programming failed, keeping generation " + std::to_string(programmed_generation_) + ": " + status_.program_error;
  else if (dp_.synced()) line = status_.dataplane + ": programmed generation " + std::to_string(programmed_generation_);
  else line = "starting";
  if (status_.ready) notifier_.ready(line);
  else notifier_.status(line);
}

}  // namespace portway::daemon
