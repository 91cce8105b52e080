// What one new connection costs two shapes of connection table at pw_conns' size, full
// (root; BPF_PROG_TEST_RUN, nothing attached): the kernel's LRU hash that pw_conns is, and an
// 8-way set-associative table that overwrites its oldest way in place
// (bpf/conn_table_bench.bpf.c says what each program does). Every repeat of a test run is a new
// random client, so `ns_per_conn` is one all-new packet's table work, the floor included.
//
//   taskset -c 1 build/bench/bench_conn_table --benchmark_repetitions=5
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

const std::vector<std::uint8_t> kFrame(64, 0);

// One load for every benchmark, both tables filled to capacity before the first is timed, so
// that every timed insert evicts (the LRU) or overwrites (the set table) as on a busy node.
ConnTable& tables() {
  static std::optional<ConnTable> t;
  if (!t) {
    t.emplace(ConnTable::open_and_load());
    for (int fd : {bpf_program__fd(t->get()->progs.conn_lru_new),
                   bpf_program__fd(t->get()->progs.conn_set_new)}) {
      (void)loader::test_run(fd, kFrame, {.repeat = kFillRuns});
    }
  }
  return *t;
}

void time_new_connections(benchmark::State& state, bpf_program* (*prog)(ConnTable&)) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root (CAP_BPF)");
    return;
  }
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

void BM_Floor(benchmark::State& state) {
  time_new_connections(state, [](ConnTable& t) { return t->progs.conn_floor; });
}
void BM_LruNewConnection(benchmark::State& state) {
  time_new_connections(state, [](ConnTable& t) { return t->progs.conn_lru_new; });
}
void BM_SetAssociativeNewConnection(benchmark::State& state) {
  time_new_connections(state, [](ConnTable& t) { return t->progs.conn_set_new; });
}

BENCHMARK(BM_Floor)->UseManualTime()->Iterations(20);
BENCHMARK(BM_LruNewConnection)->UseManualTime()->Iterations(20);
BENCHMARK(BM_SetAssociativeNewConnection)->UseManualTime()->Iterations(20);

}  // namespace

BENCHMARK_MAIN();
