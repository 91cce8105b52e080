// The store under operator mistakes and concurrency (docs/testing.md "Fault suite"), with the
// real `portway` binary:
// - a sync from no store (a mistyped --state, $PORTWAY_STATE unset and no default file, a file
//   truncated to 0 bytes) fails and leaves every frontend programmed; only --remove-all, or a
//   store whose apps were all deleted, empties the node;
// - 1,000 commands (apply, delete, sandbox add/set/rm, services, sandbox list, sync) run 24 at a
//   time on one store: no crash, no failure but the expected node-port conflicts, every
//   acknowledged write in the store at the end, every node-port race won exactly once.
// Syncs run on nftables inside network namespaces the test creates; their pin folders (where
// the writer lock lives) are the test's own under /sys/fs/bpf.
#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "dataplane/nft/nft_dataplane.h"
#include "portway_process.h"
#include "store/sqlite_store.h"
#include "support/root.h"

namespace portway::itest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "portway-store-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), 0600);
}

std::string app_toml(const std::string& name, int node_port) {
  return "name = \"" + name + "\"\n\n[services.web]\ncommand = \"./web\"\n\n[[services.web.ports]]\n"
         "port = 80\nname = \"http\"\ntype = \"tcp\"\nnode_port = " + std::to_string(node_port) + "\n";
}

// The node settings: nft needs no uplink of its own, but the pin folder (where the writer
// lock lives) must be this test's, never the node's /sys/fs/bpf/portway.
std::string node_toml(const std::string& pins) {
  return "service_cidr = \"198.18.0.0/17\"\nuplinks = [\"lo\"]\nbpffs_dir = \"" + pins + "\"\n";
}

// Removes the test's pin folder however the test ends.
struct PinFolder {
  std::string path;
  ~PinFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Frontends + node ports installed by nftables in the namespace `netns_fd`.
std::size_t frontends_in(int netns_fd) {
  std::size_t n = 0;
  std::string error;
  std::thread([&] {
    try {
      if (::setns(netns_fd, CLONE_NEWNET) != 0) throw std::runtime_error("setns");
      dataplane::nft::NftDataplane nft{config::NodeSettings{}};  // only reads the table
      const state::DataplaneState installed = nft.installed();
      n = installed.frontends().size() + installed.node_ports().size();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }).join();
  if (!error.empty()) ADD_FAILURE() << "reading the nft table: " << error;
  return n;
}

class NoStoreSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    netns_ = std::make_unique<OwnNetns>();
    node_ = dir_.file("node.toml");
    write_file(node_, node_toml(pins_.path));
    db_ = dir_.file("state.db");
    write_file(dir_.file("web.toml"), app_toml("web", 30080));
  }

  PortwayResult portway(std::vector<std::string> args, std::vector<std::string> env = {},
                        bool hide_var_lib = false) {
    env.insert(env.begin(), kPath);
    PortwayRun run;
    run.args = std::move(args);
    run.env = std::move(env);
    run.netns_fd = netns_->fd();
    run.hide_var_lib = hide_var_lib;
    return run_portway(PORTWAY_BINARY, run);
  }

  PortwayResult sync(std::vector<std::string> extra, std::vector<std::string> env = {}, bool hide_var_lib = false) {
    std::vector<std::string> args{"sync", "--node", node_, "--dataplane", "nft"};
    args.insert(args.end(), extra.begin(), extra.end());
    return portway(std::move(args), std::move(env), hide_var_lib);
  }

  TempDir dir_;
  PinFolder pins_{"/sys/fs/bpf/portway-storetest-" + std::to_string(::getpid())};
  std::unique_ptr<OwnNetns> netns_;
  std::string node_, db_;
};

TEST_F(NoStoreSyncTest, AMissingOrEmptyStoreNeverEmptiesTheNode) {
  ASSERT_TRUE(portway({"apply", "--state", db_, "--node", node_, dir_.file("web.toml")}).ok());
  {
    const auto r = sync({"--state", db_});
    ASSERT_TRUE(r.ok()) << r.describe();
  }
  const std::size_t programmed = frontends_in(netns_->fd());
  ASSERT_EQ(programmed, 2u) << "the Service's frontend and its node port";

  const std::string typo = dir_.file("stat.db");
  const std::string empty = dir_.file("empty.db");
  write_file(empty, "");
  struct Case {
    const char* what;
    std::vector<std::string> args, env;
    bool hide_var_lib;
    std::string named;  // the path the message must name
  };
  const Case cases[] = {
      {"--state with a typo", {"--state", typo}, {}, false, typo},
      {"$PORTWAY_STATE with a typo", {}, {"PORTWAY_STATE=" + typo}, false, typo},
      {"no --state, $PORTWAY_STATE unset, no default file", {}, {}, true, "/var/lib/portway/state.db"},
      {"a state file truncated to 0 bytes", {"--state", empty}, {}, false, empty},
  };
  for (const Case& c : cases) {
    const auto r = sync(c.args, c.env, c.hide_var_lib);
    EXPECT_EQ(r.exit_code, 2) << c.what << ": " << r.describe();
    EXPECT_NE(r.err.find(c.named), std::string::npos) << c.what << ": " << r.err;
    EXPECT_NE(r.err.find("--remove-all"), std::string::npos) << c.what << ": " << r.err;
    EXPECT_EQ(frontends_in(netns_->fd()), programmed) << c.what << " removed frontends";
  }
  EXPECT_FALSE(fs::exists(typo)) << "sync created the mistyped state file";
  EXPECT_EQ(fs::file_size(empty), 0u) << "sync initialised the empty file";

  // Reading commands never create a state file either.
  for (const std::vector<std::string>& read : std::vector<std::vector<std::string>>{
           {"services", "--state", typo},
           {"sandbox", "list", "--state", typo},
           {"status", "--state", typo, "--node", node_},
           {"stats", "--state", typo, "--node", node_}}) {
    const auto r = portway(read);
    EXPECT_TRUE(r.ok()) << read[0] << ": " << r.describe();
    EXPECT_FALSE(fs::exists(typo)) << read[0] << " created the state file";
  }
  EXPECT_EQ(frontends_in(netns_->fd()), programmed);

  // Emptying the node is an explicit act: --remove-all (no store needed) ...
  {
    const auto r = sync({"--state", typo, "--remove-all"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(frontends_in(netns_->fd()), 0u);
    EXPECT_FALSE(fs::exists(typo));
  }
  ASSERT_TRUE(sync({"--state", db_}).ok());
  ASSERT_EQ(frontends_in(netns_->fd()), programmed);
  // ... or a store that exists and whose apps were all deleted.
  ASSERT_TRUE(portway({"delete", "--state", db_, "web"}).ok());
  const auto r = sync({"--state", db_});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(frontends_in(netns_->fd()), 0u);
}

// ---------------------------------------------------------------------------------------
// 1,000 concurrent commands on one store.

struct Step {
  std::vector<std::string> args;
  bool fresh_netns = false;
  std::string must_list;      // services --json output must contain this Service id
  std::string must_not_list;  // ... and must not contain this one
};

Step command(std::vector<std::string> args, bool fresh_netns = false) {
  Step s;
  s.args = std::move(args);
  s.fresh_netns = fresh_netns;
  return s;
}

// `services --json`, which must (or must not) list a Service.
Step listing(std::string must, std::string must_not) {
  Step s = command({"services", "--json"});
  s.must_list = std::move(must);
  s.must_not_list = std::move(must_not);
  return s;
}

// A chain of commands that run one after another (each depends on the previous one's
// acknowledgement); chains run concurrently with each other.
struct Script {
  std::vector<Step> steps;
  int race_round = -1;  // >= 0: two applies claiming one node port, started at once
};

struct Figures {
  std::mutex mu;
  std::map<std::string, int> commands;  // by kind
  int crashes = 0, timeouts = 0, unexpected = 0;
  std::vector<std::string> failures;    // the first few, for the report
  std::chrono::milliseconds slowest{0};
  std::map<int, std::string> race_winner;  // round -> app

  void count(const std::string& kind, const PortwayResult& r, bool as_expected, const std::string& what) {
    std::lock_guard lock(mu);
    ++commands[kind];
    slowest = std::max(slowest, r.took);
    if (r.signal != 0) ++crashes;
    if (r.timed_out) ++timeouts;
    if (!as_expected) {
      ++unexpected;
      if (failures.size() < 12) failures.push_back(what + ": " + r.describe());
    }
  }
};

class StoreConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    node_ = dir_.file("node.toml");
    write_file(node_, node_toml(pins_.path));
    db_ = dir_.file("state.db");
  }

  PortwayResult portway(const Step& s) {
    PortwayRun run;
    run.args = s.args;
    run.env = {kPath, "PORTWAY_STATE=" + db_};
    run.fresh_netns = s.fresh_netns;
    run.timeout = 90s;
    return run_portway(PORTWAY_BINARY, run);
  }

  std::string app_file(const std::string& name, int node_port) {
    const std::string path = dir_.file(name + ".toml");
    write_file(path, app_toml(name, node_port));
    return path;
  }

  void run_step(const Step& s, Figures& f) {
    const auto r = portway(s);
    std::string kind = s.args[0] == "sandbox" ? "sandbox " + s.args[1] : s.args[0];
    bool good = r.ok();
    if (good && s.args[0] == "services") {
      try {
        const std::string dumped = nlohmann::json::parse(r.out).dump();
        if (!s.must_list.empty() && dumped.find("\"" + s.must_list + "\"") == std::string::npos) good = false;
        if (!s.must_not_list.empty() && dumped.find("\"" + s.must_not_list + "\"") != std::string::npos) good = false;
      } catch (const std::exception&) {
        good = false;
      }
    }
    f.count(kind, r, good, "portway " + s.args[0] + " " + (s.args.size() > 1 ? s.args[1] : ""));
  }

  void run_race(const Script& s, Figures& f) {
    PortwayResult results[2];
    std::thread other([&] { results[1] = portway(s.steps[1]); });
    results[0] = portway(s.steps[0]);
    other.join();
    const int winners = (results[0].exit_code == 0) + (results[1].exit_code == 0);
    for (int i = 0; i < 2; ++i) {
      const bool lost_cleanly = results[i].exit_code == 1 && results[i].err.find("already in use") != std::string::npos;
      f.count("apply (race)", results[i], winners == 1 && (results[i].ok() || lost_cleanly),
              "race " + std::to_string(s.race_round) + " apply " + s.steps[i].args.back());
      if (results[i].ok()) {
        std::lock_guard lock(f.mu);
        f.race_winner[s.race_round] = "race-" + std::to_string(s.race_round) + (i == 0 ? "-a" : "-b");
      }
    }
  }

  TempDir dir_;
  PinFolder pins_{"/sys/fs/bpf/portway-storetest-" + std::to_string(::getpid()) + "-c"};
  std::deque<PinFolder> sync_pins_;
  std::string node_, db_;
};

TEST_F(StoreConcurrencyTest, AThousandConcurrentCommandsLoseNothingAndCrashNothing) {
  constexpr int kCommands = 1000, kConcurrency = 24, kApps = 110, kSandboxes = 130, kRaces = 20;
  std::mt19937 rng(20261204);
  std::vector<Script> scripts;
  std::set<std::string> want_apps;                         // applied and not deleted
  std::map<std::string, std::string> want_sandboxes;       // id -> state
  int planned = 0;

  for (int i = 0; i < kApps; ++i) {
    const std::string app = "app-" + std::to_string(i), id = "svc/" + app + "/web";
    Script s;
    s.steps.push_back(command({"apply", "--node", node_, app_file(app, 30000 + i)}));
    s.steps.push_back(listing(id, ""));
    if (i % 3 == 0) {
      s.steps.push_back(command({"delete", app}));
      s.steps.push_back(listing("", id));
    } else {
      want_apps.insert(app);
    }
    planned += static_cast<int>(s.steps.size());
    scripts.push_back(std::move(s));
  }
  for (int j = 0; j < kSandboxes; ++j) {
    const std::string id = "sb-" + std::to_string(j);
    const std::string ip = "198.19." + std::to_string(j / 200) + "." + std::to_string(j % 200 + 1);
    Script s;
    s.steps.push_back(command({"sandbox", "add", "--id", id, "--app", "app-" + std::to_string(j % kApps),
                        "--service", "web", "--ip", ip}));
    s.steps.push_back(command({"sandbox", "set", id, "--to", "draining"}));
    if (j % 2 == 0) {
      s.steps.push_back(command({"sandbox", "rm", id}));
    } else {
      want_sandboxes[id] = "draining";
    }
    planned += static_cast<int>(s.steps.size());
    scripts.push_back(std::move(s));
  }
  for (int r = 0; r < kRaces; ++r) {
    const std::string base = "race-" + std::to_string(r);
    Script s;
    s.race_round = r;
    s.steps.push_back(command({"apply", "--node", node_, app_file(base + "-a", 40000 + r)}));
    s.steps.push_back(command({"apply", "--node", node_, app_file(base + "-b", 40000 + r)}));
    planned += 2;
    scripts.push_back(std::move(s));
  }
  // Readers fill up to kCommands: a quarter of them syncs, each in a namespace of its own.
  for (int k = 0; planned < kCommands; ++k, ++planned) {
    Script s;
    if (k % 4 == 0) {
      // A pin folder (hence a writer lock) of its own: syncs of one folder queue on its lock
      // (another test's subject); here they are readers of the store.
      const std::string pins = pins_.path + "-" + std::to_string(k);
      sync_pins_.push_back({pins});
      const std::string node = dir_.file("node-" + std::to_string(k) + ".toml");
      write_file(node, node_toml(pins));
      s.steps.push_back(command({"sync", "--node", node, "--dataplane", "nft"}, true));
    }
    else if (k % 4 == 1)
      s.steps.push_back(command({"sandbox", "list", "--json"}));
    else
      s.steps.push_back(command({"services", "--json"}));
    scripts.push_back(std::move(s));
  }
  std::shuffle(scripts.begin(), scripts.end(), rng);
  // The store exists before the first command, as on a node where apply has run: a sync that
  // starts before any writer created the file is refused on purpose (NoStoreSyncTest), which
  // is not what this test races.
  (void)store::SqliteStore::open(db_);

  Figures figures;
  std::atomic<std::size_t> next{0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + 240s;  // a bound, far above the run time (docs/testing.md)
  std::atomic<bool> out_of_time{false};
  std::vector<std::thread> drivers;
  for (int t = 0; t < kConcurrency; ++t) {
    drivers.emplace_back([&] {
      for (std::size_t i = next++; i < scripts.size(); i = next++) {
        if (std::chrono::steady_clock::now() > deadline) {
          out_of_time = true;
          return;
        }
        const Script& s = scripts[i];
        if (s.race_round >= 0) {
          run_race(s, figures);
          continue;
        }
        for (const Step& step : s.steps) run_step(step, figures);
      }
    });
  }
  for (auto& d : drivers) d.join();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);

  int ran = 0;
  std::string by_kind;
  for (const auto& [kind, n] : figures.commands) {
    ran += n;
    by_kind += " " + kind + "=" + std::to_string(n);
  }
  std::cout << "[ figures  ] " << ran << " commands, " << kConcurrency << " at a time, in " << took.count()
            << " ms (slowest " << figures.slowest.count() << " ms):" << by_kind << "; crashes "
            << figures.crashes << ", timeouts " << figures.timeouts << ", unexpected results "
            << figures.unexpected << "\n";
  for (const auto& f : figures.failures) std::cout << "[ failure  ] " << f << "\n";
  EXPECT_FALSE(out_of_time) << "the run passed its time bound";
  EXPECT_EQ(ran, kCommands);
  EXPECT_EQ(figures.crashes, 0);
  EXPECT_EQ(figures.timeouts, 0);
  EXPECT_EQ(figures.unexpected, 0);

  // Every acknowledged write is in the store, and nothing else.
  auto store = store::SqliteStore::open(db_, {.create = false});
  auto tx = store->begin_read();
  std::set<std::string> apps;
  for (const auto& a : tx->apps()) apps.insert(a.name);
  std::set<std::string> expected_apps = want_apps;
  for (const auto& [round, winner] : figures.race_winner) expected_apps.insert(winner);
  EXPECT_EQ(apps, expected_apps);
  EXPECT_EQ(figures.race_winner.size(), static_cast<std::size_t>(kRaces)) << "a race round without a winner";

  std::map<int, std::string> claims;
  for (const auto& c : tx->claims()) {
    EXPECT_TRUE(claims.emplace(c.node_port, c.app).second) << "node port " << c.node_port << " claimed twice";
  }
  std::map<int, std::string> expected_claims;
  for (int i = 0; i < kApps; ++i)
    if (want_apps.count("app-" + std::to_string(i))) expected_claims[30000 + i] = "app-" + std::to_string(i);
  for (const auto& [round, winner] : figures.race_winner) expected_claims[40000 + round] = winner;
  EXPECT_EQ(claims, expected_claims);

  std::map<std::string, std::string> sandboxes;
  for (const auto& s : tx->sandboxes()) sandboxes[s.id] = std::string(store::to_string(s.state));
  EXPECT_EQ(sandboxes, want_sandboxes);
}

}  // namespace
}  // namespace portway::itest
