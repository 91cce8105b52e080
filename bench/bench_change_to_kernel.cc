// From a committed one-sandbox change to the kernel programmed, at 10,000 Services x 3 ports x
// 10 backends (docs/performance.md "Targets": p99 <= 1 ms on xdp, <= 20 ms on nft), and the full
// check at that size. What a daemon does per change: state::IncrementalCompiler::catch_up() on a
// real SQLite store on disk, then agent::NodeDataplane::apply_changes().
//
// Needs root. Everything runs in a network namespace the benchmark creates (the nft table
// lives and dies there), the fast path's pins go to /sys/fs/bpf/portway-change-bench-<pid>
// and its socket hooks on a cgroup of its own (portway-change-bench-<pid>); all of it is
// removed when the benchmark ends, also on error. No uplink, no sandbox interface: no traffic.
//
//   build/bench/bench_change_to_kernel            (docs/performance.md has the numbers)
//
// Each iteration: commit one sandbox state change through model::set_sandbox_state (untimed:
// it is the writer's cost), then time catch_up() + apply_changes(). The changes cycle
// draining, stopped, running over sandboxes spread across the fleet, so they change a
// member's state, remove a member and add one. Reported: p50, p99 and max over the
// iterations, and the catch-up's share.
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/node_dataplane.h"
#include "agent/sync.h"
#include "bench_fleet_store.h"
#include "lab/cgroup_dir.h"
#include "model/sandbox_ops.h"
#include "state/incremental_compile.h"
#include "store/sqlite_store.h"
#include "support/netns.h"

namespace {

using namespace portway;
using Clock = std::chrono::steady_clock;

constexpr int kServices = 10000;

std::string unique_name() { return "portway-change-bench-" + std::to_string(getpid()); }

config::NodeSettings bench_settings(const std::string& cgroup) {
  config::NodeSettings s;
  s.uplinks = {};
  s.sandbox_interfaces = {};
  s.node_addresses = {"198.19.255.1"};
  s.service_cidr = {net::Ipv4{0xC6120000u}, 15};  // 198.18.0.0/15: bench_snapshot's Services
  s.bpffs_dir = "/sys/fs/bpf/" + unique_name();
  s.cgroup = cgroup;
  s.maps.frontends = 65536;        // 30,000 service ports + 10,000 node ports
  s.maps.backends = 131072;        // 100,000 sandboxes
  s.maps.backend_sets = 16384;     // 10,000 sets
  s.maps.maglev_slots = 83886080;  // 2 x 10,000 x 4093 (docs/xdp-dataplane.md, "Memory")
  s.maps.conntrack = 1024;
  return s;
}

// The cgroup of the fast path's socket hooks: never "" (that would be the host's root).
std::string own_cgroup() {
  std::string path = lab::cgroup_path_for(unique_name());
  if (path.empty()) throw std::runtime_error("no cgroup v2 hierarchy mounted");
  return path;
}

// A fresh SQLite store on disk holding the fleet, removed with its directory at the end.
class BenchStore {
 public:
  BenchStore() {
    std::filesystem::create_directories(dir_);
    store_ = store::SqliteStore::open(dir_ + "/state.db");
    bench::write_fleet(*store_, bench::make_snapshot(kServices));
  }
  ~BenchStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  BenchStore(const BenchStore&) = delete;
  BenchStore& operator=(const BenchStore&) = delete;

  store::Store& get() { return *store_; }

  // Change number `n`: one sandbox, spread over the fleet, to the next state of its cycle,
  // committed through the model's sandbox operation as `portway sandbox set` does.
  void commit_change(int n) { bench::commit_sandbox_change(*store_, kServices, n); }

 private:
  std::string dir_ = "/var/tmp/" + unique_name();  // on disk, not tmpfs
  std::unique_ptr<store::SqliteStore> store_;
};

// Removes the fast path's pins when the benchmark ends, also on error. The nft table goes
// with the namespace.
struct PinsGuard {
  config::NodeSettings settings;
  dataplane::Kind kind;
  ~PinsGuard() {
    try {
      agent::make_dataplane(kind, settings)->remove_all();
    } catch (const std::exception&) {
    }
    std::error_code ec;
    std::filesystem::remove_all(settings.bpffs_dir, ec);
  }
};

// Everything the benchmark creates, removed in reverse order whatever happens.
class BenchNode {
 public:
  explicit BenchNode(config::DataplaneChoice choice)
      : cgroup_(own_cgroup()),
        pins_{bench_settings(cgroup_.path()),
              choice == config::DataplaneChoice::xdp ? dataplane::Kind::xdp : dataplane::Kind::nft} {
    node_.emplace(pins_.settings, choice);
    node_->sync(compiler_.reset(store_.get()), compiler_.generation());
  }

  BenchStore& store() { return store_; }
  state::IncrementalCompiler& compiler() { return compiler_; }
  agent::NodeDataplane& node() { return *node_; }

 private:
  test::ScopedNetns netns_;
  lab::CgroupDir cgroup_;
  PinsGuard pins_;
  BenchStore store_;
  state::IncrementalCompiler compiler_;
  std::optional<agent::NodeDataplane> node_;
};

bool needs_root(benchmark::State& bs) {
  if (geteuid() == 0) return false;
  bs.SkipWithError("needs root: a network namespace, CAP_BPF and CAP_NET_ADMIN");
  return true;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(at, v.size() - 1)];
}

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// CPU time of the calling thread: on a loaded machine wall time also counts waiting for a core.
double thread_cpu_micros() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

void BM_OneSandboxChangeToKernel(benchmark::State& bs, config::DataplaneChoice choice) {
  if (needs_root(bs)) return;
  try {
    BenchNode node(choice);
    std::vector<double> total, catch_up, cpu;
    int n = 0;
    for (auto _ : bs) {
      node.store().commit_change(n++);
      const double c0 = thread_cpu_micros();
      const auto t0 = Clock::now();
      const state::StateDiff d = node.compiler().catch_up(node.store().get());
      const auto t1 = Clock::now();
      node.node().apply_changes(d, node.compiler().generation());
      const auto t2 = Clock::now();
      cpu.push_back(thread_cpu_micros() - c0);
      bs.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
      total.push_back(micros(t2 - t0));
      catch_up.push_back(micros(t1 - t0));
      if (node.compiler().last_path() != state::IncrementalCompiler::Path::journal ||
          d.backend_sets.changed.size() != 1) {
        bs.SkipWithError("a one-sandbox change must be one backend set from the journal");
        break;
      }
    }
    bs.counters["p50_us"] = percentile(total, 0.50);
    bs.counters["p99_us"] = percentile(total, 0.99);
    bs.counters["max_us"] = percentile(total, 1.0);
    bs.counters["cpu_p50_us"] = percentile(cpu, 0.50);
    bs.counters["cpu_p99_us"] = percentile(cpu, 0.99);
    bs.counters["catch_up_p50_us"] = percentile(catch_up, 0.50);
    bs.counters["catch_up_p99_us"] = percentile(catch_up, 0.99);
  } catch (const std::exception& e) {
    bs.SkipWithError(e.what());
  }
}

// The control plane's share alone (no root): catch_up() after each committed change.
void BM_OneSandboxChangeCatchUp(benchmark::State& bs) {
  BenchStore st;
  state::IncrementalCompiler compiler;
  compiler.reset(st.get());
  std::vector<double> samples, cpu;
  int n = 0;
  for (auto _ : bs) {
    st.commit_change(n++);
    const double c0 = thread_cpu_micros();
    const auto t0 = Clock::now();
    const state::StateDiff d = compiler.catch_up(st.get());
    const auto t1 = Clock::now();
    cpu.push_back(thread_cpu_micros() - c0);
    bs.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    samples.push_back(micros(t1 - t0));
    if (compiler.last_path() != state::IncrementalCompiler::Path::journal || d.backend_sets.changed.size() != 1) {
      bs.SkipWithError("a one-sandbox change must be one backend set from the journal");
      break;
    }
  }
  bs.counters["p50_us"] = percentile(samples, 0.50);
  bs.counters["p99_us"] = percentile(samples, 0.99);
  bs.counters["cpu_p50_us"] = percentile(cpu, 0.50);
  bs.counters["cpu_p99_us"] = percentile(cpu, 0.99);
}

// The full read-back and repair at the same size, with nothing to repair.
void BM_FullCheck(benchmark::State& bs, config::DataplaneChoice choice) {
  if (needs_root(bs)) return;
  try {
    BenchNode node(choice);
    for (auto _ : bs) {
      const auto t0 = Clock::now();
      const agent::CheckReport report = node.node().check();
      bs.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
      if (report.repaired()) {
        bs.SkipWithError("a check of an untouched node repaired something");
        break;
      }
    }
  } catch (const std::exception& e) {
    bs.SkipWithError(e.what());
  }
}

}  // namespace

BENCHMARK(BM_OneSandboxChangeCatchUp)->Iterations(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_OneSandboxChangeToKernel, xdp, config::DataplaneChoice::xdp)
    ->Iterations(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_OneSandboxChangeToKernel, nft, config::DataplaneChoice::nft)
    ->Iterations(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_FullCheck, xdp, config::DataplaneChoice::xdp)
    ->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FullCheck, nft, config::DataplaneChoice::nft)
    ->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
