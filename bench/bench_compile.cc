// Control-plane cost (docs/performance.md "Targets": 10,000 services x 3 ports x 10 backends
// compiled and programmed <= 1 s (XDP) / 5 s (nftables); one endpoint change applied <= 1 ms / 20
// ms, independent of total size). This measures the controller's share: compiling the store
// contents into the desired dataplane state, diffing after one endpoint change, and reading the
// snapshot out of the SQLite store. Arguments are the number of Services; each has 3 ports (tcp,
// udp, tcp with a node port) and 10 running endpoints.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>

#include "bench_snapshot.h"
#include "lb/maglev.h"
#include "state/compile.h"
#include "state/diff.h"
#include "store/sqlite_store.h"

namespace {

using namespace portway;
using portway::bench::make_snapshot;
using portway::bench::with_one_endpoint_changed;

void BM_Compile(benchmark::State& bs) {
  const auto snap = make_snapshot(static_cast<int>(bs.range(0)));
  for (auto _ : bs) {
    auto st = state::compile(snap);
    benchmark::DoNotOptimize(st);
  }
  const auto st = state::compile(snap);
  bs.counters["frontends"] = static_cast<double>(st.frontends().size());
  bs.counters["node_ports"] = static_cast<double>(st.node_ports().size());
  bs.counters["backends"] = static_cast<double>(snap.sandboxes.size());
}
BENCHMARK(BM_Compile)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_DiffAfterOneEndpointChange(benchmark::State& bs) {
  const auto snap = make_snapshot(static_cast<int>(bs.range(0)));
  const auto before = state::compile(snap);
  const auto after = state::compile(with_one_endpoint_changed(snap));
  for (auto _ : bs) {
    auto d = state::diff(before, after);
    benchmark::DoNotOptimize(d);
  }
  const auto d = state::diff(before, after);
  if (!d.frontends.empty() || !d.node_ports.empty() || d.backend_sets.size() != 1) {
    bs.SkipWithError("the diff of one endpoint change touched more than one backend set");
  }
}
BENCHMARK(BM_DiffAfterOneEndpointChange)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

// What the controller does on an endpoint change: recompile everything, diff with the
// installed state.
void BM_RecompileAndDiffAfterOneEndpointChange(benchmark::State& bs) {
  const auto snap = make_snapshot(static_cast<int>(bs.range(0)));
  const auto before = state::compile(snap);
  const auto changed = with_one_endpoint_changed(snap);
  for (auto _ : bs) {
    auto d = state::diff(before, state::compile(changed));
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_RecompileAndDiffAfterOneEndpointChange)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// Reading all of it out of the SQLite store in one read transaction (the compile input).
void BM_ReadSnapshotFromSqlite(benchmark::State& bs) {
  std::string dir_template = (std::filesystem::temp_directory_path() / "portway-bench-XXXXXX").string();
  if (!::mkdtemp(dir_template.data())) {
    bs.SkipWithError("mkdtemp failed");
    return;
  }
  const std::filesystem::path dir = dir_template;
  {
    const auto snap = make_snapshot(static_cast<int>(bs.range(0)));
    auto db = store::SqliteStore::open((dir / "state.db").string());
    auto tx = db->begin_write();
    for (const auto& s : snap.services) {
      if (!tx->find_app(s.app)) tx->put_app({s.app, "", "{}", 1, 0});
      tx->put_service(s);
    }
    for (const auto& sb : snap.sandboxes) tx->put_sandbox(sb);
    std::map<std::string, std::vector<store::NodePortClaim>> claims_by_app;
    for (const auto& c : snap.claims) claims_by_app[c.app].push_back(c);
    for (const auto& [app, claims] : claims_by_app) tx->replace_claims(app, claims);
    tx->commit();
  }
  auto db = store::SqliteStore::open((dir / "state.db").string(), {.create = false});
  for (auto _ : bs) {
    auto tx = db->begin_read();
    auto snap = state::read_snapshot(*tx);
    benchmark::DoNotOptimize(snap);
  }
  db.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ReadSnapshotFromSqlite)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// One Maglev table as the XDP fast path builds it per backend set: 10 backends, M = 4093 (the
// default smallest table); a full programming of 10,000 Services builds 10,000 of these.
void BM_MaglevTable(benchmark::State& bs) {
  std::vector<lb::MaglevBackend> backends;
  for (int k = 0; k < bench::kBackends; ++k) backends.push_back({"198.18.64." + std::to_string(k)});
  const auto m = static_cast<std::uint32_t>(bs.range(0));
  for (auto _ : bs) {
    auto table = lb::build_maglev_table(backends, m);
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_MaglevTable)->Arg(251)->Arg(4093)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
