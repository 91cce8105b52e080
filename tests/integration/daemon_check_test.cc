// The daemon's checks do not stall change propagation (docs/operations.md "Drift repair"):
// the reconcile loop runs in this process on an nft lab node, with a factory that wraps the
// real nftables dataplane so that a check's read-back waits at a gate the test opens. While
// the read waits, a store change (the CLI, another process) reaches the kernel; the check
// then finishes without taking that change for drift. A SIGTERM while a read waits stops the
// loop at once.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/sync.h"
#include "daemon/reconcile_loop.h"
#include "dataplane/nft/nft_dataplane.h"
#include "lab/lab.h"
#include "lab/ns_process.h"
#include "lab/topology.h"
#include "lab_test_config.h"
#include "model/sandbox_ops.h"
#include "netlink/netns.h"
#include "store/sqlite_store.h"
#include "support/root.h"

namespace portway::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool within(std::chrono::milliseconds bound, const std::function<bool()>& done) {
  const auto start = Clock::now();
  while (Clock::now() - start < bound) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Where reads wait until the test opens it (bounded: a forgotten gate opens after 30 s).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> started{0};
  void pass() {
    ++started;
    std::unique_lock lock(mu);
    cv.wait_for(lock, 30s, [&] { return open; });
  }
  void set(bool o) {
    {
      std::lock_guard lock(mu);
      open = o;
    }
    cv.notify_all();
  }
};

class GatedReader : public dataplane::KernelReader {
 public:
  GatedReader(std::unique_ptr<dataplane::KernelReader> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  std::unique_ptr<dataplane::KernelReading> read() override {
    gate_->pass();
    return inner_->read();
  }

 private:
  std::unique_ptr<dataplane::KernelReader> inner_;
  std::shared_ptr<Gate> gate_;
};

// The real dataplane, its reader behind the gate.
class GatedDataplane : public dataplane::Dataplane {
 public:
  GatedDataplane(std::unique_ptr<dataplane::Dataplane> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  dataplane::Kind kind() const override { return inner_->kind(); }
  bool is_installed() override { return inner_->is_installed(); }
  bool is_running() override { return inner_->is_running(); }
  state::DataplaneState installed() override { return inner_->installed(); }
  dataplane::ApplyReport apply(const state::DataplaneState& d) override { return inner_->apply(d); }
  dataplane::ApplyReport apply_changes(const state::StateDiff& d, const state::DataplaneState& desired) override {
    return inner_->apply_changes(d, desired);
  }
  dataplane::ApplyReport take_over(const state::DataplaneState& d, bool other) override {
    return inner_->take_over(d, other);
  }
  void hand_over(std::vector<std::string>& notes) override { inner_->hand_over(notes); }
  void settle() override { inner_->settle(); }
  std::unique_ptr<dataplane::KernelReader> make_reader(const state::DataplaneState& desired) override {
    auto r = inner_->make_reader(desired);
    if (!r) return nullptr;
    return std::make_unique<GatedReader>(std::move(r), gate_);
  }
  dataplane::Repairs repair(const dataplane::KernelReading* reading, const state::DataplaneState& desired) override {
    return inner_->repair(reading, desired);
  }
  void remove_all() override { inner_->remove_all(); }
  dataplane::Stats stats() override { return inner_->stats(); }

 private:
  std::unique_ptr<dataplane::Dataplane> inner_;
  std::shared_ptr<Gate> gate_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class DaemonCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    cfg_ = itest::lab_test_config("pwk", "daemoncheck");
    lab::lab_down(cfg_);
    settings_ = lab::lab_node_settings(cfg_);
    up_ = true;
    lab::lab_up(cfg_, config::DataplaneChoice::nft);
    topo_ = lab::plan_topology({cfg_.prefix, 0});
    settings_.dataplane = config::DataplaneChoice::nft;
    settings_.resync_seconds = 300;  // checks only when the test asks (SIGHUP)
    settings_.api_socket.clear();
    settings_.metrics_address.reset();
  }
  void TearDown() override {
    if (gate_) gate_->set(true);
    stop();
    if (up_) lab::lab_down(cfg_);
  }

  std::string state() const { return cfg_.dir + "/state.db"; }

  // The loop on a thread of its own in the node's namespace; `loop_` receives the signals.
  void start() {
    std::promise<void> constructed;
    auto ready = constructed.get_future();
    finished_ = std::async(std::launch::async, [this, &constructed]() -> int {
      loop_thread_ = pthread_self();
      netlink::NetnsGuard in(topo_.node_netns);
      DaemonOptions o;
      o.state_path = state();
      o.reload_settings = [s = settings_] { return s; };
      o.factory = [gate = gate_](dataplane::Kind k, const config::NodeSettings& s) {
        return std::make_unique<GatedDataplane>(agent::make_dataplane(k, s), gate);
      };
      ReconcileLoop loop(std::move(o), settings_, board_);
      constructed.set_value();
      return loop.run();
    });
    ready.wait();
    running_ = true;
  }
  void signal(int sig) { ASSERT_EQ(pthread_kill(loop_thread_, sig), 0); }
  void stop() {
    if (!running_) return;
    running_ = false;
    pthread_kill(loop_thread_, SIGTERM);
    finished_.wait();
  }

  int cli(std::vector<std::string> args) {
    args.insert(args.begin(), PORTWAY_BINARY);
    lab::NsProcess p = lab::NsProcess::spawn(topo_.node_netns, args, cfg_.dir + "/cli.log");
    return p.wait_exit(60s).value_or(-1);
  }

  bool kernel_holds_store() {
    std::unique_ptr<store::Store> store = store::SqliteStore::open(state(), {.create = false});
    const state::DataplaneState desired = agent::compile_store(store.get());
    netlink::NetnsGuard in(topo_.node_netns);
    dataplane::nft::NftDataplane reader(settings_);
    reader.learn_names(desired);
    return reader.installed() == desired;
  }

  lab::LabConfig cfg_;
  config::NodeSettings settings_;
  lab::Topology topo_;
  bool up_ = false;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  StatusBoard board_;
  pthread_t loop_thread_{};
  std::future<int> finished_;
  bool running_ = false;
};

TEST_F(DaemonCheckTest, AStoreChangeReachesTheKernelWhileACheckReads) {
  start();
  ASSERT_TRUE(within(20s, [&] { return board_.snapshot().ready; })) << "the loop did not program the lab";
  ASSERT_EQ(board_.snapshot().last_check_ms, 0) << "a check ran before the test asked for one";

  signal(SIGHUP);  // a full sync, then a check
  ASSERT_TRUE(within(10s, [&] { return gate_->started.load() == 1; })) << "no check started its read";
  const std::uint64_t before = board_.snapshot().programmed_generation;

  // The read waits at the gate; the loop keeps programming.
  ASSERT_EQ(cli({"sandbox", "set", "--state", state(), "tcp-echo-echo-0", "--to", "stopped"}), 0)
      << slurp(cfg_.dir + "/cli.log");
  EXPECT_TRUE(within(5s, [&] { return board_.snapshot().programmed_generation > before && kernel_holds_store(); }))
      << "the change did not reach the kernel while the check read";
  EXPECT_EQ(board_.snapshot().last_check_ms, 0) << "the check finished before its read was let through";

  gate_->set(true);
  ASSERT_TRUE(within(10s, [&] { return board_.snapshot().last_check_ms != 0; })) << "the check did not finish";
  // The change made during the read is the loop's own, not drift.
  EXPECT_TRUE(board_.snapshot().drift_repairs.empty());
  EXPECT_TRUE(kernel_holds_store());
}

TEST_F(DaemonCheckTest, TriggersDuringACheckQueueOneMore) {
  start();
  ASSERT_TRUE(within(20s, [&] { return board_.snapshot().ready; })) << "the loop did not program the lab";
  signal(SIGHUP);
  ASSERT_TRUE(within(10s, [&] { return gate_->started.load() == 1; })) << "no check started its read";
  // Three more triggers while the read waits (signals may merge; each one queues the same).
  for (int i = 0; i < 3; ++i) {
    signal(SIGHUP);
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(gate_->started.load(), 1) << "a second read started while one was in flight";
  gate_->set(true);
  ASSERT_TRUE(within(10s, [&] { return gate_->started.load() == 2; })) << "the queued check did not run";
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(gate_->started.load(), 2) << "one check queued behind the running one, no more";
}

TEST_F(DaemonCheckTest, SigtermDoesNotWaitForACheckRead) {
  start();
  ASSERT_TRUE(within(20s, [&] { return board_.snapshot().ready; })) << "the loop did not program the lab";
  signal(SIGHUP);
  ASSERT_TRUE(within(10s, [&] { return gate_->started.load() == 1; })) << "no check started its read";
  const auto asked = Clock::now();
  running_ = false;
  signal(SIGTERM);
  ASSERT_EQ(finished_.wait_for(2s), std::future_status::ready) << "SIGTERM waited for the read in flight";
  EXPECT_EQ(finished_.get(), 0);
  std::printf("stopped %lld ms after SIGTERM with a read in flight\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked).count()));
  EXPECT_TRUE(kernel_holds_store()) << "the dataplane stays programmed";
}

// A writer that keeps its connection open (a runtime's agent, not the CLI) wakes the loop with
// its write to the -wal file, just before the commit is visible: every one of its commits must
// still be programmed at once, not at the writer's next write.
TEST_F(DaemonCheckTest, CommitsOfAWriterThatStaysOpenAreProgrammedAtOnce) {
  start();
  ASSERT_TRUE(within(20s, [&] { return board_.snapshot().ready; })) << "the loop did not program the lab";
  std::unique_ptr<store::Store> writer = store::SqliteStore::open(state(), {.create = false});
  const store::SandboxState cycle[] = {store::SandboxState::stopped, store::SandboxState::running};
  int slow = 0;
  for (int n = 0; n < 20; ++n) {
    {
      auto tx = writer->begin_write();
      ASSERT_TRUE(model::set_sandbox_state(*tx, "tcp-echo-echo-0", cycle[n % 2], n + 1));
      tx->commit();
    }
    std::uint64_t committed = 0;
    {
      auto tx = writer->begin_read();
      committed = tx->generation();
    }
    if (!within(1s, [&] { return board_.snapshot().programmed_generation == committed; })) ++slow;
  }
  EXPECT_EQ(slow, 0) << slow << " of 20 commits were not programmed within 1 s";
  EXPECT_TRUE(kernel_holds_store());
}

}  // namespace
}  // namespace portway::daemon
