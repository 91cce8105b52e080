// What one new connection costs two shapes of connection table at pw_conns' size, full
// (root; BPF_PROG_TEST_RUN, nothing attached): the kernel's LRU hash that pw_conns is (with its
// shared LRU lists, and with one list per CPU), and an
// 8-way set-associative table that overwrites its least recently used way in place, without
// and with a per-set lock (bpf/conn_table_bench.bpf.c says what each program does). Every
// repeat of a *NewConnection run is a new random client, so `ns_per_conn` is one all-new
// packet's table work, the floor included. The *Hit runs look up one of kLiveClients
// connections written just before, drawn at random: an established packet's lookup.
//
//   taskset -c 1 build/bench/bench_conn_table --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "conn_table_bench.skel.h"
#include "loader/prog_test_run.h"
#include "loader/skeleton.h"
#include "portway/lb_abi.h"

namespace {

using namespace portway;

PORTWAY_SKELETON_TRAITS(ConnTableTraits, conn_table_bench);
using ConnTable = loader::Skeleton<ConnTableTraits>;

// Runs per test run; the tables hold PW_DEFAULT_FLOWS (262,144) connections.
constexpr std::uint32_t kRepeat = 100'000;
constexpr std::uint32_t kFillRuns = 2 * PW_DEFAULT_FLOWS;
constexpr std::uint32_t kLiveClients = 100'000;

const std::vector<std::uint8_t> kFrame(64, 0);

// One load for every benchmark, both tables filled to capacity before the first is timed, so
// that every timed insert evicts (the LRU) or overwrites (the set table) as on a busy node.
ConnTable& tables() {
  static std::optional<ConnTable> t;
  if (!t) {
    t.emplace(ConnTable::open_and_load());
    for (int fd : {bpf_program__fd(t->get()->progs.conn_lru_new),
                   bpf_program__fd(t->get()->progs.conn_lru_pcpu_new),
                   bpf_program__fd(t->get()->progs.conn_set_new),
                   bpf_program__fd(t->get()->progs.conn_set_locked_new)}) {
      (void)loader::test_run(fd, kFrame, {.repeat = kFillRuns});
    }
  }
  return *t;
}

void time_runs(benchmark::State& state, bpf_program* (*prog)(ConnTable&)) {
  const int fd = bpf_program__fd(prog(tables()));
  double total = 0;
  std::uint64_t calls = 0;
  for (auto _ : state) {
    const auto r = loader::test_run(fd, kFrame, {.repeat = kRepeat});
    state.SetIterationTime(static_cast<double>(r.duration_ns) * kRepeat * 1e-9);
    total += r.duration_ns;
    ++calls;
  }
  state.counters["ns_per_conn"] = calls ? total / static_cast<double>(calls) : 0;
}

bool needs_root(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root (CAP_BPF)");
    return true;
  }
  return false;
}

void BM_Floor(benchmark::State& state) {
  if (needs_root(state)) return;
  time_runs(state, [](ConnTable& t) { return t->progs.conn_floor; });
}
void BM_LruNewConnection(benchmark::State& state) {
  if (needs_root(state)) return;
  time_runs(state, [](ConnTable& t) { return t->progs.conn_lru_new; });
}
void BM_PerCpuLruNewConnection(benchmark::State& state) {
  if (needs_root(state)) return;
  time_runs(state, [](ConnTable& t) { return t->progs.conn_lru_pcpu_new; });
}
void BM_SetAssociativeNewConnection(benchmark::State& state) {
  if (needs_root(state)) return;
  time_runs(state, [](ConnTable& t) { return t->progs.conn_set_new; });
}
void BM_SetAssociativeLockedNewConnection(benchmark::State& state) {
  if (needs_root(state)) return;
  time_runs(state, [](ConnTable& t) { return t->progs.conn_set_locked_new; });
}

// Writes the live clients with `fill` into the full table, then times lookups of them with
// `hit`; `hit_ratio` says how many were still there (a set may have evicted one of them).
void time_hits(benchmark::State& state, bpf_program* (*fill)(ConnTable&), bpf_program* (*hit)(ConnTable&)) {
  if (needs_root(state)) return;
  ConnTable& t = tables();
  t->data->live_clients = kLiveClients;
  t->bss->fill_next = 0;
  (void)loader::test_run(bpf_program__fd(fill(t)), kFrame, {.repeat = kLiveClients});
  t->bss->hits = 0;
  t->bss->misses = 0;
  time_runs(state, hit);
  const double looked_up = static_cast<double>(t->bss->hits + t->bss->misses);
  state.counters["hit_ratio"] = looked_up > 0 ? static_cast<double>(t->bss->hits) / looked_up : 0;
}
void BM_LruHit(benchmark::State& state) {
  time_hits(state, [](ConnTable& t) { return t->progs.conn_lru_fill; },
            [](ConnTable& t) { return t->progs.conn_lru_hit; });
}
void BM_PerCpuLruHit(benchmark::State& state) {
  time_hits(state, [](ConnTable& t) { return t->progs.conn_lru_pcpu_fill; },
            [](ConnTable& t) { return t->progs.conn_lru_pcpu_hit; });
}
void BM_SetAssociativeHit(benchmark::State& state) {
  time_hits(state, [](ConnTable& t) { return t->progs.conn_set_fill; },
            [](ConnTable& t) { return t->progs.conn_set_hit; });
}

BENCHMARK(BM_Floor)->UseManualTime()->Iterations(20);
BENCHMARK(BM_LruNewConnection)->UseManualTime()->Iterations(20);
BENCHMARK(BM_PerCpuLruNewConnection)->UseManualTime()->Iterations(20);
BENCHMARK(BM_SetAssociativeNewConnection)->UseManualTime()->Iterations(20);
BENCHMARK(BM_SetAssociativeLockedNewConnection)->UseManualTime()->Iterations(20);
BENCHMARK(BM_LruHit)->UseManualTime()->Iterations(20);
BENCHMARK(BM_PerCpuLruHit)->UseManualTime()->Iterations(20);
BENCHMARK(BM_SetAssociativeHit)->UseManualTime()->Iterations(20);

}  // namespace

BENCHMARK_MAIN();
