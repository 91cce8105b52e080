// Control-plane cost (quality.md target: 10,000 services x 3 ports x 10 backends compiled and
// programmed <= 1 s (XDP) / 5 s (nftables); one endpoint change applied <= 1 ms / 20 ms,
// independent of total size). This measures the controller's share: compiling the store
// contents into the desired dataplane state, diffing after one endpoint change, and reading
// the snapshot out of the SQLite store. Arguments are the number of Services; each has 3
// ports (tcp, udp, tcp with a node port) and 10 running endpoints.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>

#include "model/wanted.h"
#include "state/compile.h"
#include "state/diff.h"
#include "store/sqlite_store.h"

namespace {

using namespace portway;
using config::PortType;
using config::Protocol;

constexpr int kBackends = 10;

// Benchmarking address ranges only (198.18.0.0/15): Services from 198.18.0.1 up, sandboxes
// from 198.18.64.0 up (110,000 sandbox addresses fit below 198.20.0.0).
state::Snapshot make_snapshot(int services) {
  state::Snapshot s;
  s.services.reserve(static_cast<std::size_t>(services));
  s.sandboxes.reserve(static_cast<std::size_t>(services) * kBackends);
  for (int i = 0; i < services; ++i) {
    const std::string app = "app" + std::to_string(i);
    store::ServiceRecord svc;
    svc.id = model::service_id(app, "server");
    svc.app = app;
    svc.service = "server";
    svc.labels = {{"app", app}, {"service", "server"}, {"managed-by", "portway"}};
    svc.selector = {app, "server"};
    const auto node_port = static_cast<std::uint16_t>(10000 + i);
    svc.ports = {{"game", 7000, 7000, Protocol::udp, PortType::udp, 0},
                 {"query", 7001, 7001, Protocol::tcp, PortType::tcp, 0},
                 {"admin", 7002, 8002, Protocol::tcp, PortType::tcp, node_port}};
    svc.ipv4 = net::Ipv4{0xC6120001u + static_cast<std::uint32_t>(i)};
    svc.revision = 1;
    s.services.push_back(std::move(svc));
    s.claims.push_back({node_port, Protocol::tcp, app, "server"});
    for (int k = 0; k < kBackends; ++k) {
      const auto n = static_cast<std::uint32_t>(i * kBackends + k);
      // Labels as `portway sandbox add` stores them (app and service are always there).
      s.sandboxes.push_back({app + "-" + std::to_string(k), app, "server",
                             {{"app", app}, {"service", "server"}}, net::Ipv4{0xC6124000u + n},
                             {}, "veth" + std::to_string(n), store::SandboxState::running, 0});
    }
  }
  return s;
}

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

// The draining of one endpoint in the middle of the fleet.
state::Snapshot with_one_endpoint_changed(state::Snapshot s) {
  s.sandboxes[s.sandboxes.size() / 2 + 3].state = store::SandboxState::draining;
  return s;
}

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

}  // namespace

BENCHMARK_MAIN();
