// Programming time of the nftables dataplane (docs/performance.md "Targets": 10,000 services x 3
// ports x 10 backends programmed <= 5 s; one endpoint change <= 20 ms, independent of size).
// Everything runs in a private network namespace the benchmark creates, never on the host's
// ruleset. Needs root (a network namespace and CAP_NET_ADMIN in it).
//
//   sudo build/bench/bench_nft --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// BM_MaglevSlotElements is the evidence for docs/nftables.md's parity verdict: what M slot
// elements per backend set (an exact copy of the fast path's Maglev tables) would cost.
#include <benchmark/benchmark.h>
#include <sched.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "dataplane/nft/nft_context.h"
#include "dataplane/nft/nft_dataplane.h"
#include "state/diff.h"
#include "support/netns.h"

namespace {

using portway::dataplane::nft::NftContext;
using portway::dataplane::nft::NftDataplane;
namespace state = portway::state;
namespace net = portway::net;

state::DataplaneState services(unsigned count, unsigned ports, unsigned backends, unsigned drop_last_of = ~0u) {
  std::vector<state::Frontend> fes;
  std::vector<state::BackendSet> sets;
  fes.reserve(std::size_t{count} * ports);
  sets.reserve(count);
  for (unsigned s = 0; s < count; ++s) {
    const std::string id = "svc/app" + std::to_string(s) + "/web";
    const net::Ipv4 addr{0x0A400000u + s};  // 10.64.0.0/10
    for (unsigned p = 0; p < ports; ++p)
      fes.push_back({{addr, static_cast<std::uint16_t>(8000 + p), portway::config::Protocol::tcp},
                     static_cast<std::uint16_t>(9000 + p), id, "port" + std::to_string(p)});
    state::BackendSet set{id, {}};
    for (unsigned b = 0; b < backends; ++b) {
      if (s == drop_last_of && b + 1 == backends) continue;
      set.members.push_back({net::Ipv4{0x0A800000u + s * backends + b}, std::nullopt, state::MemberState::running});
    }
    sets.push_back(std::move(set));
  }
  return state::DataplaneState::from_parts(std::move(fes), {}, std::move(sets));
}

bool have_root(benchmark::State& st) {
  if (geteuid() == 0) return true;
  st.SkipWithError("needs root: a private network namespace and CAP_NET_ADMIN in it");
  return false;
}

void BM_ProgramFromEmpty(benchmark::State& st) {
  if (!have_root(st)) return;
  portway::test::ScopedNetns netns;
  const auto desired = services(static_cast<unsigned>(st.range(0)), 3, 10);
  NftDataplane dp(portway::config::NodeSettings{}, NftDataplane::Options{false});
  std::size_t elements = 0;
  for (auto _ : st) {
    st.PauseTiming();
    dp.remove_all();
    st.ResumeTiming();
    dp.apply(desired);
    elements = dp.last_transaction().elements_added;
  }
  st.counters["services"] = static_cast<double>(st.range(0));
  st.counters["elements"] = static_cast<double>(elements);
}
BENCHMARK(BM_ProgramFromEmpty)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(3);

// One backend leaves (or comes back) in a table of `range(0)` services: the alternating
// applies are each one endpoint change. Flow cleanup runs on its worker after apply()
// returns (with_cleanup = 1 waits for it inside the timing).
void BM_OneEndpointChange(benchmark::State& st) {
  if (!have_root(st)) return;
  portway::test::ScopedNetns netns;
  const auto n = static_cast<unsigned>(st.range(0));
  const bool with_cleanup = st.range(1) != 0;
  const auto all = services(n, 3, 10);
  const auto fewer = services(n, 3, 10, n / 2);
  NftDataplane dp{portway::config::NodeSettings{}};
  dp.apply(all);
  bool flip = false;
  std::size_t ops = 0;
  for (auto _ : st) {
    dp.apply(flip ? all : fewer);
    if (with_cleanup) dp.wait_for_flow_cleanup();
    flip = !flip;
    ops = dp.last_transaction().elements_added + dp.last_transaction().elements_deleted;
  }
  st.counters["element_ops"] = static_cast<double>(ops);
}
BENCHMARK(BM_OneEndpointChange)
    ->Args({1000, 0})
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(40);

// The same change handed over as a diff (NftDataplane::apply_changes, what the daemon's
// NodeDataplane calls): no whole-state diff, the view patched in place.
void BM_OneEndpointChangeAsDiff(benchmark::State& st) {
  if (!have_root(st)) return;
  portway::test::ScopedNetns netns;
  const auto n = static_cast<unsigned>(st.range(0));
  const auto all = services(n, 3, 10);
  const auto fewer = services(n, 3, 10, n / 2);
  const state::StateDiff to_fewer = state::diff(all, fewer), to_all = state::diff(fewer, all);
  NftDataplane dp{portway::config::NodeSettings{}, NftDataplane::Options{false}};
  dp.apply(all);
  bool flip = false;
  for (auto _ : st) {
    dp.apply_changes(flip ? to_all : to_fewer, flip ? all : fewer);
    flip = !flip;
  }
}
BENCHMARK(BM_OneEndpointChangeAsDiff)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(40);

// A check's two phases without drift: the read (any thread) and the repair phase (the
// owner's thread, the time changes wait). range(1) = 0 times the read, 1 the repair.
void BM_CheckPhases(benchmark::State& st) {
  if (!have_root(st)) return;
  portway::test::ScopedNetns netns;
  const auto desired = services(static_cast<unsigned>(st.range(0)), 3, 10);
  NftDataplane dp(portway::config::NodeSettings{}, NftDataplane::Options{false});
  dp.apply(desired);
  for (auto _ : st) {
    if (st.range(1) == 0) {
      dp.make_reader(desired)->read();
      continue;
    }
    // The repair phase alone: making the reader (a copy of the view, owner's thread) and
    // dropping the reading (freeing the dump: the daemon does that off its loop) are timed
    // by range(1) = 2.
    st.PauseTiming();
    auto reader = dp.make_reader(desired);
    auto reading = reader->read();
    st.ResumeTiming();
    dp.repair(reading.get(), desired);
    st.PauseTiming();
    reading.reset();
    st.ResumeTiming();
  }
}
BENCHMARK(BM_CheckPhases)->Args({10000, 0})->Args({10000, 1})->Unit(benchmark::kMillisecond)->Iterations(2);

// The periodic full check: read the table back through netlink and compare (no drift).
void BM_FullCheck(benchmark::State& st) {
  if (!have_root(st)) return;
  portway::test::ScopedNetns netns;
  const auto desired = services(static_cast<unsigned>(st.range(0)), 3, 10);
  NftDataplane dp(portway::config::NodeSettings{}, NftDataplane::Options{false});
  dp.apply(desired);
  for (auto _ : st) dp.repair(desired);
}
BENCHMARK(BM_FullCheck)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_Stats(benchmark::State& st) {
  if (!have_root(st)) return;
  portway::test::ScopedNetns netns;
  NftDataplane dp(portway::config::NodeSettings{}, NftDataplane::Options{false});
  dp.apply(services(static_cast<unsigned>(st.range(0)), 3, 10));
  for (auto _ : st) benchmark::DoNotOptimize(dp.stats());
}
BENCHMARK(BM_Stats)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(2);

// What an exact copy of the fast path's Maglev tables would cost in nftables: M = 4093 slot
// elements per backend set (the node default), keyed like svc_slots, in one transaction.
void BM_MaglevSlotElements(benchmark::State& st) {
  if (!have_root(st)) return;
  portway::test::ScopedNetns netns;
  const auto sets = static_cast<unsigned>(st.range(0));
  constexpr unsigned kM = 4093;
  std::string text = "add table inet maglev\nadd map inet maglev slots { typeof ip daddr . jhash ip saddr mod 2 : ip daddr; }\n";
  for (unsigned s = 0; s < sets; ++s) {
    text += "add element inet maglev slots { ";
    for (unsigned i = 0; i < kM; ++i) {
      if (i) text += ", ";
      text += "10.64." + std::to_string(s / 256) + "." + std::to_string(s % 256) + " . " + std::to_string(i) +
              " : 10.128.0." + std::to_string(i % 10 + 1);
    }
    text += " }\n";
  }
  NftContext ctx;
  for (auto _ : st) {
    st.PauseTiming();
    try {
      ctx.run("delete table inet maglev");
    } catch (const std::exception&) {
    }
    st.ResumeTiming();
    ctx.run(text);
  }
  st.counters["elements"] = static_cast<double>(sets) * kM;
  st.counters["sets"] = sets;
}
BENCHMARK(BM_MaglevSlotElements)->Arg(25)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
