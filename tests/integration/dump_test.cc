// The operator's view of a node, end to end with the portway binary on a lab node, on both
// dataplanes: `dump` lists what was applied and the flows and drops of traffic the test sends,
// `stats` nests backends under their Service and its --delta/--rate are the change over the
// interval, and `status` is checked against the kernel (a deleted nft table is reported
// missing; interfaces by name). Each test has its own lab (namespaces, pin folder, cgroup,
// state directory), removed when it ends.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/sync.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/lab.h"
#include "lab/ns_process.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "lab_test_config.h"
#include "portway_process.h"
#include "store/sqlite_store.h"
#include "support/root.h"
#include "tcp_connection.h"

namespace portway::lab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

class DumpTest : public ::testing::TestWithParam<config::DataplaneChoice> {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    cfg_ = itest::lab_test_config("pwd", "dumptest");
    lab_down(cfg_);  // a crashed earlier run of this pid's prefix
    up_ = true;
    lab_up(cfg_, GetParam());
    topo_ = plan_topology({cfg_.prefix, 0});
    netns_fd_ = ::open(("/run/netns/" + topo_.node_netns).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(netns_fd_, 0) << topo_.node_netns;
  }

  void TearDown() override {
    if (netns_fd_ >= 0) ::close(netns_fd_);
    if (!up_) return;
    lab_down(cfg_);
    EXPECT_FALSE(fs::exists(cfg_.dir)) << "lab directory left behind";
  }

  bool xdp() const { return GetParam() == config::DataplaneChoice::xdp; }
  std::string dataplane() const { return xdp() ? "xdp" : "nft"; }

  // `portway ARGS --state ... --node ...` in the node namespace (mounts kept: bpffs).
  itest::PortwayResult portway(std::vector<std::string> args) const {
    args.insert(args.end(), {"--state", cfg_.dir + "/state.db", "--node", cfg_.dir + "/node.toml"});
    return itest::run_portway(PORTWAY_BINARY, {.args = args,
                                               .env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
                                               .netns_fd = netns_fd_,
                                               .timeout = std::chrono::seconds(60)});
  }

  json portway_json(std::vector<std::string> args) const {
    args.push_back("--json");
    const auto r = portway(args);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << ": " << r.out;
      return json::object();
    }
  }

  // What the store compiles to, as the active dataplane implements it.
  state::DataplaneState desired() const {
    auto store = store::SqliteStore::open(cfg_.dir + "/state.db", {.create = false});
    const state::DataplaneState s = agent::compile_store(store.get());
    return s;
  }

  std::string sandbox_address(const std::string& id) const {
    auto store = store::SqliteStore::open(cfg_.dir + "/state.db", {.create = false});
    for (const auto& sb : store->begin_read()->sandboxes())
      if (sb.id == id) return net::to_string(*sb.ipv4);
    ADD_FAILURE() << "no sandbox " << id;
    return "";
  }

  // The desired frontend of a Service port (IPv4).
  const state::Frontend& frontend(const state::DataplaneState& s, const std::string& set, const std::string& port) const {
    const auto it = std::find_if(s.frontends().begin(), s.frontends().end(), [&](const state::Frontend& f) {
      return f.backend_set == set && f.port_name == port && std::holds_alternative<net::Ipv4>(f.key.address);
    });
    if (it == s.frontends().end()) throw std::runtime_error("no frontend " + set + " " + port);
    return *it;
  }

  LabConfig cfg_;
  Topology topo_;
  int netns_fd_ = -1;
  bool up_ = false;
};

const std::set<std::string> kServiceKeys{"id", "app", "service"};
const std::set<std::string> kServicePortKeys{"id", "app", "service", "port"};

TEST_P(DumpTest, FrontendsAndBackendsAreWhatWasApplied) {
  const state::DataplaneState want = desired();
  const json fe = portway_json({"dump", "frontends"});
  EXPECT_EQ(keys_of(fe), (std::set<std::string>{"dataplane", "frontends"}));
  EXPECT_EQ(fe.value("dataplane", ""), dataplane());
  ASSERT_EQ(fe["frontends"].size(), want.frontends().size() + want.node_ports().size()) << fe.dump(1);
  std::size_t matched = 0;
  for (const auto& row : fe["frontends"]) {
    EXPECT_EQ(keys_of(row), (std::set<std::string>{"frontend", "address", "port", "protocol", "node_port",
                                                    "target_port", "backend_set", "backends", "service"}));
    EXPECT_EQ(keys_of(row["service"]), kServicePortKeys) << row.dump();
    const auto check = [&](const auto& entry) {
      EXPECT_EQ(row["target_port"], entry.target_port) << row.dump();
      EXPECT_EQ(row["backend_set"], entry.backend_set) << row.dump();
      EXPECT_EQ(row["service"]["id"], entry.backend_set) << row.dump();
      EXPECT_EQ(row["service"]["port"], entry.port_name) << row.dump();
      EXPECT_EQ(entry.backend_set, "svc/" + row["service"]["app"].get<std::string>() + "/" +
                                       row["service"]["service"].get<std::string>());
      const auto* set = want.find_backend_set(entry.backend_set);
      ASSERT_NE(set, nullptr);
      EXPECT_EQ(row["backends"]["running"], set->members.size()) << row.dump();
      ++matched;
    };
    const std::string key = row["frontend"];
    for (const auto& f : want.frontends())
      if (state::to_string(f.key) == key) check(f);
    for (const auto& n : want.node_ports())
      if (state::to_string(n.key) == key) check(n);
  }
  EXPECT_EQ(matched, fe["frontends"].size()) << "rows that are no applied frontend:\n" << fe.dump(1);

  const json be = portway_json({"dump", "backends"});
  EXPECT_EQ(keys_of(be), (std::set<std::string>{"dataplane", "backends"}));
  std::set<std::string> got, expected;
  for (const auto& row : be["backends"]) {
    EXPECT_EQ(keys_of(row), (std::set<std::string>{"backend_set", "address", "ipv6", "state", "service"}));
    EXPECT_EQ(keys_of(row["service"]), kServiceKeys) << row.dump();
    EXPECT_EQ(row["service"]["id"], row["backend_set"]);
    got.insert(row["backend_set"].get<std::string>() + " " + row["address"].get<std::string>() + " " +
               row["state"].get<std::string>());
  }
  for (const auto& set : want.backend_sets())
    for (const auto& m : set.members) expected.insert(set.id + " " + net::to_string(*m.ipv4) + " running");
  EXPECT_EQ(got, expected);

  // The text: addresses in dotted form and the Service named on each row.
  const auto text = portway({"dump", "frontends"});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  const state::Frontend& echo = frontend(want, "svc/tcp-echo/echo", "echo");
  EXPECT_NE(text.out.find(state::to_string(echo.key)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("svc/tcp-echo/echo port echo"), std::string::npos) << text.out;
}

TEST_P(DumpTest, FlowsShowTheConnectionsOpenedWithTheirBackendAndDropsTheRejectCaused) {
  const state::DataplaneState want = desired();
  const state::Frontend& echo = frontend(want, "svc/tcp-echo/echo", "echo");
  const state::Frontend& game = frontend(want, "svc/game/server", "game");
  const std::string echo_vip = state::to_string(echo.key.address), game_vip = state::to_string(game.key.address);

  itest::TcpConnection conn(topo_.client_netns, echo_vip, echo.key.port);
  ASSERT_TRUE(conn.connected());
  const ProbeResult tcp = conn.exchange("WHO\n");
  ASSERT_EQ(tcp.status, ProbeStatus::ok) << tcp.error;
  WhoAnswer tcp_who;
  ASSERT_TRUE(parse_who(tcp.reply, tcp_who)) << tcp.reply;
  const ProbeResult udp = udp_probe(topo_.client_netns, game_vip, game.key.port);
  ASSERT_EQ(udp.status, ProbeStatus::ok) << udp.error;
  WhoAnswer udp_who;
  ASSERT_TRUE(parse_who(udp.reply, udp_who)) << udp.reply;

  const json flows = portway_json({"dump", "flows"});
  EXPECT_EQ(keys_of(flows), (std::set<std::string>{"dataplane", "flows"}));
  const auto find = [&](const std::string& proto, std::uint16_t client_port, const std::string& vip) -> const json* {
    for (const auto& f : flows["flows"])
      if (f["protocol"] == proto && f["client_port"] == client_port && f["frontend"] == vip) return &f;
    return nullptr;
  };
  const std::string client = net::to_string(topo_.client_address);
  struct Expect {
    const char* proto;
    const WhoAnswer& who;
    const std::string& vip;
    const state::Frontend& fe;
  };
  for (const Expect& e : {Expect{"tcp", tcp_who, echo_vip, echo}, Expect{"udp", udp_who, game_vip, game}}) {
    const json* f = find(e.proto, e.who.client_port, e.vip);
    ASSERT_NE(f, nullptr) << e.proto << " flow from port " << e.who.client_port << " missing:\n" << flows.dump(1);
    EXPECT_EQ(keys_of(*f), (std::set<std::string>{"protocol", "client", "client_port", "frontend", "frontend_port",
                                                   "backend", "backend_port", "snat", "state", "idle_ms", "expires_s",
                                                   "service"}));
    EXPECT_EQ((*f)["client"], client);
    EXPECT_EQ((*f)["frontend_port"], e.fe.key.port);
    EXPECT_EQ((*f)["backend"], sandbox_address(e.who.sandbox)) << "the sandbox that answered: " << e.who.sandbox;
    EXPECT_EQ((*f)["backend_port"], e.fe.target_port);
    EXPECT_EQ((*f)["service"]["id"], e.fe.backend_set);
    EXPECT_EQ((*f)["service"]["port"], e.fe.port_name);
    if (xdp()) {
      ASSERT_TRUE((*f)["idle_ms"].is_number()) << f->dump();
      EXPECT_LT((*f)["idle_ms"].get<std::int64_t>(), 60000) << f->dump();
    } else {
      ASSERT_TRUE((*f)["expires_s"].is_number()) << f->dump();
      EXPECT_GT((*f)["expires_s"].get<std::int64_t>(), 0) << f->dump();
      if (std::string(e.proto) == "tcp") {
        EXPECT_EQ((*f)["state"], "ESTABLISHED") << f->dump();
      }
    }
  }
  const auto text = portway({"dump", "flows"});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_NE(text.out.find(client + ":" + std::to_string(tcp_who.client_port)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(sandbox_address(tcp_who.sandbox) + ":" + std::to_string(echo.target_port)), std::string::npos)
      << text.out;

  // A drop the test causes: a TCP SYN to a port the Service does not declare is rejected.
  const json before = portway_json({"dump", "drops"});
  EXPECT_EQ(keys_of(before), (std::set<std::string>{"dataplane", "drops"}));
  ASSERT_TRUE(before["drops"].contains("undeclared_port")) << before.dump();
  const ProbeResult rejected = tcp_probe(topo_.client_netns, echo_vip, 1);
  EXPECT_EQ(rejected.status, ProbeStatus::refused) << rejected.error;
  const json after = portway_json({"dump", "drops"});
  EXPECT_EQ(after["drops"]["undeclared_port"].get<std::uint64_t>(), before["drops"]["undeclared_port"].get<std::uint64_t>() + 1)
      << after.dump();
  const auto drops_text = portway({"dump", "drops"});
  EXPECT_NE(drops_text.out.find("undeclared_port"), std::string::npos) << drops_text.out;
}

TEST_P(DumpTest, StatsNestBackendsUnderTheirServiceAndRatesAreTheDeltaOverTheInterval) {
  const state::DataplaneState want = desired();
  const state::Frontend& game = frontend(want, "svc/game/server", "game");
  const std::string vip = state::to_string(game.key.address);
  const std::string key = state::to_string(game.key);

  const json total = portway_json({"stats"});
  EXPECT_EQ(keys_of(total), (std::set<std::string>{"dataplane", "view", "interval_s", "frontends", "backends", "drops",
                                                    "events", "services"}));
  EXPECT_EQ(total["view"], "total");
  const auto service_of = [](const json& stats, const std::string& id) -> const json* {
    for (const auto& s : stats["services"])
      if (s["service"] == id) return &s;
    return nullptr;
  };
  const json* server = service_of(total, "svc/game/server");
  ASSERT_NE(server, nullptr) << total.dump(1);
  EXPECT_EQ(keys_of(*server), (std::set<std::string>{"service", "frontends", "backends"}));
  std::set<std::string> backends, members;
  for (const auto& b : (*server)["backends"]) {
    EXPECT_EQ(keys_of(b), (std::set<std::string>{"backend", "address", "counters"}));
    backends.insert(b["address"]);
  }
  for (const auto& m : want.find_backend_set("svc/game/server")->members) members.insert(net::to_string(*m.ipv4));
  EXPECT_EQ(backends, members) << "the Service's members, nested under it";
  bool has_frontend = false;
  for (const auto& f : (*server)["frontends"]) {
    EXPECT_EQ(keys_of(f), (std::set<std::string>{"frontend", "port", "protocol", "counters"}));
    has_frontend = has_frontend || (f["frontend"] == key && f["port"] == "game");
  }
  EXPECT_TRUE(has_frontend) << server->dump(1);

  // Counters the test controls: kDatagrams probes, each one datagram on a new flow, sent well
  // inside the interval of a --delta and of a --rate reading.
  constexpr int kDatagrams = 12;
  constexpr double kInterval = 5.0;
  const auto measured = [&](const char* view) {
    json out;
    std::thread reader([&] { out = portway_json({"stats", view, "--interval", "5"}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    for (int i = 0; i < kDatagrams; ++i) {
      const ProbeResult r = udp_probe(topo_.client_netns, vip, game.key.port);
      EXPECT_EQ(r.status, ProbeStatus::ok) << r.error;
    }
    reader.join();
    return out;
  };
  const json delta = measured("--delta");
  EXPECT_EQ(delta["view"], "delta");
  EXPECT_EQ(delta["frontends"][key]["packets"], kDatagrams) << delta.dump(1);
  EXPECT_EQ(delta["frontends"][key]["new_flows"], kDatagrams) << delta.dump(1);
  std::uint64_t to_backends = 0;
  for (const auto& b : service_of(delta, "svc/game/server")->at("backends")) to_backends += b["counters"]["packets"].get<std::uint64_t>();
  EXPECT_EQ(to_backends, static_cast<std::uint64_t>(kDatagrams)) << delta.dump(1);

  const json rate = measured("--rate");
  EXPECT_EQ(rate["view"], "rate");
  const double interval = rate["interval_s"].get<double>();
  EXPECT_GE(interval, kInterval);
  EXPECT_LT(interval, kInterval + 5) << "the readings take more than 5 s";
  EXPECT_EQ(rate["frontends"][key]["packets"], kDatagrams) << "the flat maps hold the change";
  double nested = -1;
  for (const auto& f : service_of(rate, "svc/game/server")->at("frontends"))
    if (f["frontend"] == key) nested = f["counters"]["packets"].get<double>();
  EXPECT_NEAR(nested, kDatagrams / interval, 1e-9) << rate.dump(1);

  const auto text = portway({"stats"});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  const auto at_service = text.out.find("\nsvc/game/server");
  ASSERT_NE(at_service, std::string::npos) << text.out;
  const auto at_frontend = text.out.find("\n  " + key + " (game)", at_service);
  const auto at_backend = text.out.find("\n    -> " + *members.begin(), at_service);
  EXPECT_NE(at_frontend, std::string::npos) << text.out;
  EXPECT_NE(at_backend, std::string::npos) << text.out;
  EXPECT_EQ(portway({"stats", "--rate", "--delta"}).exit_code, 2);
  EXPECT_EQ(portway({"stats", "--rate", "--interval", "0"}).exit_code, 2);
}

TEST_P(DumpTest, StatusIsReadFromTheKernel) {
  const json status = portway_json({"status"});
  std::set<std::string> keys{"active", "last_sync", "kernel_note", "attachments", "fill", "store_generation",
                             "programmed_generation", "programmed_ago_ms", "last_sync_ago_ms", "daemon"};
  if (xdp()) keys.insert("flows_evicted");
  EXPECT_EQ(keys_of(status), keys);
  EXPECT_EQ(status["active"], dataplane());
  EXPECT_TRUE(status["kernel_note"].is_null()) << status.dump(1);
  EXPECT_TRUE(status["last_sync"]["last_sync_ms"].is_number()) << "epoch fields stay for scripts";
  EXPECT_GE(status["last_sync_ago_ms"].get<std::int64_t>(), 0);
  const auto text = portway({"status"});
  ASSERT_EQ(text.exit_code, 0) << text.describe();
  EXPECT_EQ(text.out.find("since the epoch"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("last sync: "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(" ago, "), std::string::npos) << text.out;
  if (xdp()) {
    bool uplink = false;
    for (const auto& a : status["attachments"]) uplink = uplink || (a["interface"] == topo_.uplink && a["hook"] == "xdp");
    EXPECT_TRUE(uplink) << status.dump(1);
    EXPECT_NE(text.out.find("attached: " + topo_.uplink + " xdp ("), std::string::npos) << text.out;
    return;
  }
  // nftables: the table is deleted behind portway's back, in the lab's node namespace.
  NsProcess nft = NsProcess::spawn(topo_.node_netns, {"/usr/sbin/nft", "delete", "table", "inet", "portway"},
                                   cfg_.dir + "/nft.log");
  ASSERT_EQ(nft.wait_exit(std::chrono::seconds(10)).value_or(-1), 0);
  const json gone = portway_json({"status"});
  EXPECT_TRUE(gone["active"].is_null()) << gone.dump(1);
  EXPECT_NE(gone.value("kernel_note", "").find("table inet portway does not exist in this network namespace"),
            std::string::npos)
      << gone.dump(1);
  const auto gone_text = portway({"status"});
  EXPECT_EQ(gone_text.out.rfind("active dataplane: none", 0), 0u) << gone_text.out;
  const auto dump = portway({"dump", "frontends"});
  EXPECT_EQ(dump.exit_code, 2) << dump.describe();
  EXPECT_NE(dump.err.find("does not exist in this network namespace"), std::string::npos) << dump.err;
}

// `sync --json` on a programmed node (the lab's dataplane, nothing to change): its exact keys
// and their types, as docs/cli.md gives them.
TEST_P(DumpTest, SyncJsonHasItsExactKeys) {
  const json out = portway_json({"sync", "--dataplane", dataplane()});
  EXPECT_EQ(keys_of(out), (std::set<std::string>{"dataplane", "reason", "changes", "notes"})) << out.dump();
  EXPECT_EQ(out.value("dataplane", ""), dataplane()) << out.dump();
  EXPECT_TRUE(out["reason"].is_string()) << out.dump();
  EXPECT_TRUE(out["changes"].is_array()) << out.dump();
  EXPECT_TRUE(out["changes"].empty()) << "a second sync changed something: " << out.dump();
  EXPECT_TRUE(out["notes"].is_array()) << out.dump();
}

INSTANTIATE_TEST_SUITE_P(Dataplanes, DumpTest,
                         ::testing::Values(config::DataplaneChoice::xdp, config::DataplaneChoice::nft),
                         [](const auto& param_info) {
                           return std::string(param_info.param == config::DataplaneChoice::xdp ? "xdp" : "nft");
                         });

}  // namespace
}  // namespace portway::lab
