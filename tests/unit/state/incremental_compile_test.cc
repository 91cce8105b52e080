// state::IncrementalCompiler against compile(): after every store change made through the
// model's own operations (apply and delete app, sandbox add, set, rm), catch_up() gives the
// state compile() gives for the same store, and a diff that takes the previous state there.
// Random sequences over many seeds; node ports contend so claims move between apps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "model/app_ops.h"
#include "model/errors.h"
#include "model/sandbox_ops.h"
#include "model_support/fixtures.h"
#include "state/compile.h"
#include "state/incremental_compile.h"

namespace portway::state {
namespace {

using store::SandboxState;

DataplaneState compiled(store::Store& store) {
  auto tx = store.begin_read();
  return compile(read_snapshot(*tx));
}

class IncrementalCompileTest : public testing::StoreTest {
 protected:
  // Commits `ops` as one transaction; a refusal (model::Rejected: a node-port conflict, an
  // address in use, an unknown sandbox) rolls it back, as the CLI would.
  template <class F>
  void change(F&& ops) {
    auto tx = store_->begin_write();
    try {
      ops(*tx);
    } catch (const model::Rejected&) {
      return;
    }
    tx->commit();
  }

  // Checks the compiler against compile() after a catch_up; counts the journal's answers.
  void expect_caught_up(IncrementalCompiler& ic, const std::string& where) {
    const DataplaneState before = ic.state();
    const StateDiff d = ic.catch_up(*store_);
    const DataplaneState want = compiled(*store_);
    ASSERT_EQ(ic.state(), want) << where;
    ASSERT_EQ(patch(before, d), want) << where;
    ASSERT_EQ(d, diff(before, want)) << where << ": the diff is the canonical one";
    EXPECT_EQ(ic.generation(), generation()) << where;
    if (ic.last_path() == IncrementalCompiler::Path::journal) ++journal_answers_;
    if (!d.backend_sets.changed.empty()) ++member_changes_;
    if (!d.node_ports.empty()) ++node_port_changes_;
  }

  // One random change: one to three operations in one transaction.
  void random_change(std::mt19937& rng, int& serial, std::vector<std::string>& sandbox_ids);

  int journal_answers_ = 0;
  int member_changes_ = 0;
  int node_port_changes_ = 0;
};

// One random app: s0 and up to two more Services, each with one to three ports, some with node ports
// from a small range so that apps contend for them.
std::string random_app(std::mt19937& rng, const std::string& name) {
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::string toml = "name = \"" + name + "\"\n";
  std::vector<int> node_ports;  // an app may not claim one twice
  const int services = 1 + pick(3);
  for (int s = 0; s < services; ++s) {
    const std::string svc = "s" + std::to_string(s == 0 ? 0 : pick(3));  // every app has s0
    const int ports = 1 + pick(3);
    for (int p = 0; p < ports; ++p) {
      const bool udp = pick(3) == 0;
      toml += "\n[[services." + svc + ".ports]]\nport = " + std::to_string(7000 + p + 10 * s) +
              "\nname = \"p" + std::to_string(p + 10 * s) + "\"\ntype = \"" + (udp ? "udp" : "tcp") + "\"\n";
      const int node_port = 30000 + pick(4);
      if (pick(3) == 0 && std::find(node_ports.begin(), node_ports.end(), node_port) == node_ports.end()) {
        node_ports.push_back(node_port);
        toml += "node_port = " + std::to_string(node_port) + "\n";
      }
    }
  }
  return toml;
}

store::SandboxRecord random_sandbox(std::mt19937& rng, int serial) {
  const auto pick = [&](int n) { return static_cast<unsigned>(rng() % static_cast<unsigned>(n)); };
  store::SandboxRecord sb;
  sb.id = "sb-" + std::to_string(serial);
  sb.app = "a" + std::to_string(pick(5));  // a4 is never applied: endpoints wait for it
  sb.service = "s" + std::to_string(pick(4) == 0 ? pick(3) : 0);
  sb.labels = {{"app", sb.app}, {"service", sb.service}};
  // A small range: addresses sometimes repeat, and the model refuses a duplicate.
  // Either family or both: a quarter are IPv6-only.
  if (pick(4) != 0) sb.ipv4 = net::Ipv4{0xC6130000u + 1 + pick(200)};
  if (!sb.ipv4 || pick(2) == 0) sb.ipv6 = testing::ip6("2001:2:0:1::" + std::to_string(1 + pick(200)));
  sb.iface = "veth" + std::to_string(serial);
  sb.state = static_cast<SandboxState>(pick(3));
  return sb;
}

TEST_F(IncrementalCompileTest, MatchesAFullCompileAfterEveryRandomChange) {
  constexpr int kSeeds = 40;
  constexpr int kSteps = 30;
  int steps = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    store_.reset();
    // Some seeds keep a journal so short that skipping commits outruns it (the full path).
    store::SqliteOptions options;
    if (seed % 4 == 0) options.journal_generations = 2;
    path_ = dir_.file("state-" + std::to_string(seed) + ".db");
    store_ = store::SqliteStore::open(path_, options);

    std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
    IncrementalCompiler ic;
    ASSERT_EQ(ic.reset(*store_), compiled(*store_));
    int serial = 0;
    std::vector<std::string> sandbox_ids;
    for (int step = 0; step < kSteps; ++step) {
      // Sometimes several commits between two catch-ups: the journal merges generations.
      const int commits = rng() % 4 == 0 ? 1 + static_cast<int>(rng() % 3) : 1;
      for (int c = 0; c < commits; ++c) random_change(rng, serial, sandbox_ids);
      expect_caught_up(ic, "step " + std::to_string(step));
      if (HasFatalFailure()) return;
      ++steps;
    }
  }
  // Most steps must have been answered from the journal, or this tested only compile().
  EXPECT_GT(journal_answers_, steps * 3 / 4) << "of " << steps;
  // And the sequences must have moved members and node ports, or they tested little.
  EXPECT_GT(member_changes_, steps / 8) << "of " << steps;
  EXPECT_GT(node_port_changes_, steps / 20) << "of " << steps;
  std::printf("%d steps: %d from the journal, %d with member changes, %d with node-port changes\n",
              steps, journal_answers_, member_changes_, node_port_changes_);
}

void IncrementalCompileTest::random_change(std::mt19937& rng, int& serial,
                                           std::vector<std::string>& sandbox_ids) {
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const int ops = 1 + (pick(4) == 0 ? pick(3) : 0);
  std::vector<std::string> added;
  change([&](store::Transaction& tx) {
    for (int i = 0; i < ops; ++i) {
      switch (pick(8)) {
        case 0:
        case 1: {
          const std::string name = "a" + std::to_string(pick(4));
          const std::string toml = random_app(rng, name);
          model::apply_app(tx, toml, testing::parse_app(toml), testing::pools("198.18.0.0/24", "2001:2::/64"), 1000);
          break;
        }
        case 2:
          model::delete_app(tx, "a" + std::to_string(pick(4)));
          break;
        case 3:
        case 4:
          added.push_back(model::add_sandbox(tx, random_sandbox(rng, ++serial)).id);
          break;
        case 5:
        case 6:
          if (sandbox_ids.empty()) break;
          model::set_sandbox_state(tx, sandbox_ids[rng() % sandbox_ids.size()],
                                   static_cast<SandboxState>(pick(3)), 2000);
          break;
        default:
          if (sandbox_ids.empty()) break;
          model::remove_sandbox(tx, sandbox_ids[rng() % sandbox_ids.size()]);
          break;
      }
    }
  });
  // Keep the ids the store has (a rolled-back transaction added nothing).
  auto tx = store_->begin_read();
  sandbox_ids.insert(sandbox_ids.end(), added.begin(), added.end());
  std::erase_if(sandbox_ids, [&](const std::string& id) { return !tx->find_sandbox(id); });
}

TEST_F(IncrementalCompileTest, OneSandboxChangeRecompilesOnlyTheServicesThatSelectIt) {
  for (const char* app : {"a0", "a1", "a2"}) {
    apply(std::string("name = \"") + app + "\"\n\n[[services.s0.ports]]\nport = 7000\nname = \"p\"\ntype = \"tcp\"\n");
  }
  change([](store::Transaction& tx) {
    store::SandboxRecord sb;
    sb.id = "sb-1";
    sb.app = "a1";
    sb.service = "s0";
    sb.ipv4 = testing::ip4("198.19.0.1");
    model::add_sandbox(tx, sb);
  });
  IncrementalCompiler ic;
  ic.reset(*store_);
  change([](store::Transaction& tx) { model::set_sandbox_state(tx, "sb-1", SandboxState::draining, 1); });
  const StateDiff d = ic.catch_up(*store_);
  EXPECT_EQ(ic.last_path(), IncrementalCompiler::Path::journal);
  EXPECT_EQ(ic.last_services_recompiled(), 1u);
  ASSERT_EQ(d.backend_sets.changed.size(), 1u);
  EXPECT_EQ(d.backend_sets.changed[0].id, "svc/a1/s0");
  EXPECT_TRUE(d.frontends.empty() && d.node_ports.empty());
  EXPECT_EQ(ic.state(), compiled(*store_));

  EXPECT_TRUE(ic.catch_up(*store_).empty()) << "nothing committed since";
  EXPECT_EQ(ic.last_services_recompiled(), 0u);
}

// Claims written without their Services (the model always writes both; another writer need
// not): the old owner loses its node port and the new one gains it.
TEST_F(IncrementalCompileTest, AClaimThatMovesAloneRecompilesBothOwners) {
  for (const char* app : {"a0", "a1"}) {
    change([&](store::Transaction& tx) {
      const std::string toml = std::string("name = \"") + app +
                               "\"\n\n[[services.s0.ports]]\nport = 7000\nname = \"p\"\ntype = \"tcp\"\n";
      model::apply_app(tx, toml, testing::parse_app(toml), pools_, 1000);
      tx.put_service([&] {
        auto s = *tx.find_service(std::string("svc/") + app + "/s0");
        s.ports[0].node_port = 30000;
        return s;
      }());
    });
  }
  change([](store::Transaction& tx) { tx.replace_claims("a0", {{30000, config::Protocol::tcp, "a0", "s0"}}); });
  IncrementalCompiler ic;
  ic.reset(*store_);
  ASSERT_EQ(ic.state().node_ports().size(), 1u);
  EXPECT_EQ(ic.state().node_ports()[0].backend_set, "svc/a0/s0");
  change([](store::Transaction& tx) {
    tx.replace_claims("a0", {});
    tx.replace_claims("a1", {{30000, config::Protocol::tcp, "a1", "s0"}});
  });
  const StateDiff d = ic.catch_up(*store_);
  EXPECT_EQ(ic.last_path(), IncrementalCompiler::Path::journal);
  EXPECT_EQ(ic.state(), compiled(*store_));
  ASSERT_EQ(d.node_ports.changed.size(), 1u);
  EXPECT_EQ(d.node_ports.changed[0].second.backend_set, "svc/a1/s0");
}

TEST_F(IncrementalCompileTest, AReaderTheJournalNoLongerReachesCompilesEverything) {
  store_.reset();
  store::SqliteOptions options;
  options.journal_generations = 1;
  store_ = store::SqliteStore::open(path_, options);
  apply("name = \"a0\"\n\n[[services.s0.ports]]\nport = 7000\nname = \"p\"\ntype = \"tcp\"\n");
  IncrementalCompiler ic;
  ic.reset(*store_);
  apply("name = \"a1\"\n\n[[services.s0.ports]]\nport = 7000\nname = \"p\"\ntype = \"tcp\"\n");
  apply("name = \"a2\"\n\n[[services.s0.ports]]\nport = 7000\nname = \"p\"\ntype = \"tcp\"\n");
  const DataplaneState before = ic.state();
  const StateDiff d = ic.catch_up(*store_);
  EXPECT_EQ(ic.last_path(), IncrementalCompiler::Path::full);
  EXPECT_EQ(ic.state(), compiled(*store_));
  EXPECT_EQ(d, diff(before, ic.state()));
  EXPECT_EQ(d.backend_sets.added.size(), 2u);
}

TEST_F(IncrementalCompileTest, CatchUpWithoutResetCompilesEverything) {
  apply("name = \"a0\"\n\n[[services.s0.ports]]\nport = 7000\nname = \"p\"\ntype = \"tcp\"\n");
  IncrementalCompiler ic;
  const StateDiff d = ic.catch_up(*store_);
  EXPECT_EQ(ic.last_path(), IncrementalCompiler::Path::full);
  EXPECT_EQ(ic.state(), compiled(*store_));
  EXPECT_EQ(d.backend_sets.added.size(), 1u);
}

}  // namespace
}  // namespace portway::state
