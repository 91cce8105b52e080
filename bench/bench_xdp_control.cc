// Control-plane cost of the XDP fast path (docs/performance.md "Targets": 10,000 Services x 3 ports
// x 10 backends compiled and programmed <= 1 s; one endpoint change applied <= 1 ms, independent of
// total size). Needs root. Everything goes into maps freshly loaded under a private pin folder
// (/sys/fs/bpf/portway-perf-bench-<pid>), never attached anywhere (no uplinks, no sandbox
// interfaces, so no traffic); the folder is removed when the benchmark ends, also on error. Run:
// sudo build/bench/bench_xdp_control --benchmark_repetitions=5
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "bench_snapshot.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "state/diff.h"

namespace {

using namespace portway;
using dataplane::xdp::XdpDataplane;

config::NodeSettings bench_settings() {
  config::NodeSettings s;
  s.uplinks = {};
  s.sandbox_interfaces = {};
  s.node_addresses = {"198.19.255.1"};
  s.bpffs_dir = "/sys/fs/bpf/portway-perf-bench-" + std::to_string(getpid());
  s.maps.frontends = 65536;          // 30,000 service ports + 10,000 node ports
  s.maps.backends = 131072;          // 100,000 sandboxes
  s.maps.backend_sets = 16384;       // 10,000 sets
  s.maps.maglev_slots = 83886080;    // 2 x 10,000 x 4093 (docs/xdp-dataplane.md, "Memory")
  s.maps.conntrack = 1024;
  return s;
}

// The fast path's pins, removed on destruction whatever happened in between.
struct BenchFastPath {
  config::NodeSettings settings = bench_settings();
  XdpDataplane dp{settings};
  BenchFastPath() { dp.remove_all(); }
  ~BenchFastPath() {
    try {
      dp.remove_all();
    } catch (const std::exception&) {
      std::error_code ec;
      std::filesystem::remove_all(settings.bpffs_dir, ec);  // last resort: the pins
    }
  }
  BenchFastPath(const BenchFastPath&) = delete;
  BenchFastPath& operator=(const BenchFastPath&) = delete;
};

bool needs_root(benchmark::State& bs) {
  if (geteuid() != 0) {
    bs.SkipWithError("needs root (CAP_BPF, CAP_NET_ADMIN)");
    return true;
  }
  return false;
}

// Compile the whole fleet and program it into freshly created (empty) maps. Loading the
// programs (the verifier) is not counted: it happens once per node, not per programming.
void BM_XdpProgramFromEmpty(benchmark::State& bs) {
  if (needs_root(bs)) return;
  const auto snap = bench::make_snapshot(static_cast<int>(bs.range(0)));
  try {
    BenchFastPath fp;
    for (auto _ : bs) {
      bs.PauseTiming();
      fp.dp.remove_all();
      (void)fp.dp.apply(state::DataplaneState{});  // load + pin, maps empty
      bs.ResumeTiming();
      const auto desired = state::compile(snap);
      const auto report = fp.dp.apply(desired);
      benchmark::DoNotOptimize(report);
    }
  } catch (const std::exception& e) {
    bs.SkipWithError(e.what());
  }
}
BENCHMARK(BM_XdpProgramFromEmpty)->Arg(1000)->Arg(10000)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// One sandbox drains (and comes back, alternately): XdpDataplane::apply() with the whole
// desired state, i.e. including the controller's O(size) diff of the two states.
void BM_XdpOneEndpointChange(benchmark::State& bs) {
  if (needs_root(bs)) return;
  const auto snap = bench::make_snapshot(static_cast<int>(bs.range(0)));
  const auto a = state::compile(snap);
  const auto b = state::compile(bench::with_one_endpoint_changed(snap));
  try {
    BenchFastPath fp;
    (void)fp.dp.apply(a);
    bool to_b = true;
    for (auto _ : bs) {
      const auto report = fp.dp.apply(to_b ? b : a);
      to_b = !to_b;
      if (report.applied.backend_sets.size() != 1) {
        bs.SkipWithError("one endpoint change must touch exactly one backend set");
        break;
      }
    }
  } catch (const std::exception& e) {
    bs.SkipWithError(e.what());
  }
}
BENCHMARK(BM_XdpOneEndpointChange)->Arg(1000)->Arg(10000)->Iterations(200)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The same change handed over as a diff (XdpDataplane::apply_changes), as a daemon that
// recompiles only the changed set would: the dataplane's own share, without the O(size)
// diff of two whole states.
void BM_XdpOneEndpointChangeAsDiff(benchmark::State& bs) {
  if (needs_root(bs)) return;
  const auto snap = bench::make_snapshot(static_cast<int>(bs.range(0)));
  const auto a = state::compile(snap);
  const auto b = state::compile(bench::with_one_endpoint_changed(snap));
  const auto a_to_b = state::diff(a, b);
  const auto b_to_a = state::diff(b, a);
  try {
    BenchFastPath fp;
    (void)fp.dp.apply(a);
    bool to_b = true;
    for (auto _ : bs) {
      fp.dp.apply_changes(to_b ? a_to_b : b_to_a);
      to_b = !to_b;
    }
    if (fp.dp.installed() != (to_b ? a : b)) bs.SkipWithError("installed state differs");
  } catch (const std::exception& e) {
    bs.SkipWithError(e.what());
  }
}
BENCHMARK(BM_XdpOneEndpointChangeAsDiff)->Arg(1000)->Arg(10000)->Iterations(200)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A check without drift, by phase: the read (every map, compared with the view) and the
// repair (pins and attachments, on the owner's thread).
void BM_XdpCheck(benchmark::State& bs) {
  if (needs_root(bs)) return;
  const auto desired = state::compile(bench::make_snapshot(static_cast<int>(bs.range(0))));
  try {
    BenchFastPath fp;
    (void)fp.dp.apply(desired);
    for (auto _ : bs) {
      // range(1) = 0: the read phase (any thread); 1: the repair phase (the owner's thread).
      if (bs.range(1) == 0) {
        fp.dp.make_reader(desired)->read();
        continue;
      }
      bs.PauseTiming();
      auto reader = fp.dp.make_reader(desired);
      auto reading = reader->read();
      bs.ResumeTiming();
      if (!fp.dp.repair(reading.get(), desired).counts.empty()) bs.SkipWithError("drift found on an intact node");
      bs.PauseTiming();
      reading.reset();
      bs.ResumeTiming();
    }
  } catch (const std::exception& e) {
    bs.SkipWithError(e.what());
  }
}
BENCHMARK(BM_XdpCheck)->Args({10000, 0})->Args({10000, 1})->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
