// The daemon's local API and metrics endpoint, in-process against a real store and a lab
// node's dataplane (namespaces of this test's own): every route over the unix socket, every
// class of bad request answered cleanly with the store's bytes unchanged, a uid outside
// api_group refused, and /metrics parsed by prometheus_client's text parser on both
// dataplanes with identical label sets.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "daemon/api_server.h"
#include "daemon/metrics_server.h"
#include "dataplane/sync_status.h"
#include "lab/probe_client.h"
#include "lab_dataplanes.h"
#include "lab_ground.h"
#include "netlink/netns.h"
#include "state/compile.h"
#include "store/sqlite_store.h"
#include "support/root.h"
#include "support/unix_http.h"

namespace portway {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::http_request;
using testing::unix_http;

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command, returns its stdout.
std::string shell(const std::string& cmd, int* exit_code = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

constexpr const char* kApp = R"(name = "web"

[services.web]
command = "./web"

[[services.web.ports]]
port = 7000
name = "echo"
type = "tcp"

[[services.web.ports]]
port = 7100
name = "other"
type = "tcp"
node_port = 30080
)";

class ApiMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    const std::string id = std::to_string(getpid());
    ground_ = std::make_unique<itest::LabGround>(itest::LabGroundSpec{"pwapi" + std::to_string(getpid() % 100000), 2,
                                                                      {7000, 7100}, {}, 120});
    bpffs_ = "/sys/fs/bpf/portway-apitest-" + id;
    // A directory others may search, so an unprivileged uid reaches the socket (its mode and
    // the peer check are what is tested).
    run_dir_ = "/run/portway-apitest-" + id;
    std::filesystem::create_directories(run_dir_);
    ::chmod(run_dir_.c_str(), 0755);
    db_ = run_dir_ + "/state.db";
    socket_ = run_dir_ + "/api.sock";
    settings_ = itest::xdp_lab_settings(ground_->topo(), bpffs_);
  }

  void TearDown() override {
    api_.reset();
    metrics_.reset();
    dataplane_.reset();
    ground_.reset();
    std::error_code ec;
    std::filesystem::remove_all(run_dir_, ec);
    std::filesystem::remove_all(bpffs_, ec);
  }

  // The API server as the daemon starts it, its threads in the node's namespace (where the
  // node's addresses are read on apply and sandbox add).
  void start_api(const std::string& group = "") {
    daemon::ApiSettings s = daemon::ApiSettings::from(settings_);
    s.socket_path = socket_;
    s.group = group;
    s.limits.request_timeout = 1000ms;
    netlink::NetnsGuard in(ground_->topo().node_netns);
    api_ = std::make_unique<daemon::ApiServer>(db_, s, [this] { return status_; }, [this] { return stats(); });
    api_->start();
  }

  // What the daemon's loop would do after a commit: compile the store and program the node.
  void program(dataplane::Kind kind) {
    auto store = store::SqliteStore::open(db_, {.create = false});
    auto tx = store->begin_read();
    const auto snapshot = state::read_snapshot(*tx);
    programmed_ = state::compile(snapshot);
    if (!dataplane_ || dataplane_->kind() != kind) {
      if (dataplane_) dataplane_->remove_all();
      dataplane_.reset();
      dataplane_ = std::make_unique<itest::LabDataplane>(kind, ground_->topo(), bpffs_);
    }
    dataplane_->apply(programmed_);
    status_.dataplane = std::string(dataplane::to_string(kind));
    status_.reason = "requested";
    status_.store_generation = status_.programmed_generation = snapshot.generation;
    status_.ready = true;
  }

  dataplane::Stats stats() {
    dataplane::Stats s = dataplane_->stats();
    dataplane::attribute(s, programmed_);
    return s;
  }

  // `portway stats --prometheus` in the node's namespace, as an operator runs it there, with
  // a node file saying what the lab's dataplane was given and a sync record naming `kind`.
  std::string cli_prometheus(dataplane::Kind kind) {
    const std::string node = run_dir_ + "/node.toml";
    {
      std::ofstream f(node);
      f << "uplinks = [\"" << settings_.uplinks[0] << "\"]\nsandbox_interfaces = [\"sb*\"]\n"
        << "service_cidr = \"" << net::to_string(settings_.service_cidr) << "\"\nbpffs_dir = \"" << bpffs_
        << "\"\ncgroup = \"" << settings_.cgroup << "\"\n[maps]\nfrontends = " << settings_.maps.frontends
        << "\nbackends = " << settings_.maps.backends << "\nbackend_sets = " << settings_.maps.backend_sets
        << "\nconntrack = " << settings_.maps.conntrack << "\nmaglev_slots = " << settings_.maps.maglev_slots << "\n";
    }
    ::chmod(node.c_str(), 0600);
    dataplane::SyncStatus record;
    record.dataplane = std::string(dataplane::to_string(kind));
    record.requested = record.dataplane;
    record.reason = "requested";
    dataplane::save_sync_status(dataplane::sync_status_path(db_), record);
    int rc = -1;
    const std::string out = shell("nsenter --net=/run/netns/" + ground_->topo().node_netns + " " + PORTWAY_BINARY +
                                  " stats --prometheus --state " + db_ + " --node " + node, &rc);
    EXPECT_EQ(rc, 0) << out;
    return out;
  }

  testing::HttpReply call(const std::string& method, const std::string& path, const std::string& body = "") {
    return unix_http(socket_, http_request(method, path, body));
  }

  std::string store_bytes() { return slurp(db_) + "|" + slurp(db_ + "-wal"); }

  // `api_client.py request` as `uid`:`gid` (setpriv, no supplementary groups): the first
  // line it prints (the status, or "connect: EACCES").
  std::string as_user(int uid, int gid, const std::string& method, const std::string& path) {
    const std::string out = shell("setpriv --reuid=" + std::to_string(uid) + " --regid=" + std::to_string(gid) +
                                  " --clear-groups /usr/bin/python3 " + std::string(PORTWAY_API_CLIENT) + " request " +
                                  socket_ + " " + method + " " + path);
    return out.substr(0, out.find('\n'));
  }

  std::unique_ptr<itest::LabGround> ground_;
  std::string bpffs_, run_dir_, db_, socket_;
  config::NodeSettings settings_;
  daemon::DaemonStatus status_;
  state::DataplaneState programmed_;
  std::unique_ptr<itest::LabDataplane> dataplane_;
  std::unique_ptr<daemon::ApiServer> api_;
  std::unique_ptr<daemon::MetricsServer> metrics_;
};

TEST_F(ApiMetrics, EveryRouteOverTheSocketAndBadRequestsChangeNothing) {
  start_api();
  // Writes: apply, two sandboxes; the test plays the daemon and programs what was committed.
  auto r = call("POST", "/v1/apps", kApp);
  ASSERT_EQ(r.status, 200) << r.body;
  const json applied = json::parse(r.body);
  const std::string vip = applied["services"][0]["addresses"][0];
  for (std::size_t i = 0; i < 2; ++i) {
    r = call("POST", "/v1/sandboxes",
             json{{"app", "web"}, {"service", "web"}, {"ip", ground_->sandbox(i)}, {"id", "sb-" + std::to_string(i)}}.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(json::parse(r.body)["id"], "sb-" + std::to_string(i));
  }
  program(dataplane::Kind::nft);
  EXPECT_EQ(lab::tcp_probe(ground_->topo().client_netns, vip, 7000).status, lab::ProbeStatus::ok);

  r = call("GET", "/v1/services");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["services"][0]["endpoints"].size(), 2u);
  r = call("GET", "/v1/stats");
  ASSERT_EQ(r.status, 200) << r.body;
  const json stats = json::parse(r.body);
  EXPECT_EQ(stats["dataplane"], "nft");
  EXPECT_GE(stats["frontends"][vip + ":7000/tcp"]["new_flows"].get<int>(), 1) << stats.dump();
  EXPECT_TRUE(stats["backends"].contains("svc/web/web " + ground_->sandbox(0))) << "Service ids on nft too: " << stats.dump();
  r = call("GET", "/v1/status");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["daemon"]["dataplane"], "nft");

  r = call("PATCH", "/v1/sandboxes/sb-1", R"({"state":"stopped"})");
  ASSERT_EQ(r.status, 200) << r.body;
  program(dataplane::Kind::nft);
  for (int i = 0; i < 6; ++i) {
    const auto who = lab::tcp_probe(ground_->topo().client_netns, vip, 7000);
    ASSERT_EQ(who.status, lab::ProbeStatus::ok);
    EXPECT_EQ(itest::who_sandbox(who), "sb0") << "a stopped sandbox gets no new flows";
  }

  // Every class of bad request, each answered with validate --json's error objects, none
  // changing the store.
  const std::string before = store_bytes();
  const auto refused = [&](int status, const testing::HttpReply& reply, const std::string& what) {
    EXPECT_EQ(reply.status, status) << what << ": " << reply.headers << "\n" << reply.body;
    if (reply.status != 0) {
      const json j = json::parse(reply.body, nullptr, false);
      EXPECT_TRUE(!j.is_discarded() && j.contains("errors") && j["errors"][0].contains("message")) << what << ": " << reply.body;
    }
    EXPECT_EQ(store_bytes(), before) << what << " changed the store";
  };
  refused(413, unix_http(socket_, "POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 3s), "huge body");
  refused(400, call("POST", "/v1/sandboxes", "{\"app\": \"web\","), "malformed JSON");
  refused(400, call("POST", "/v1/sandboxes", R"({"app":"web","service":"web","ip":7})"), "wrong type");
  refused(400, call("POST", "/v1/sandboxes", R"({"app":"web","service":"web","ip":null,"ip6":null})"),
          "neither address (docs/model.md \"Address families\")");
  refused(400, call("POST", "/v1/apps", "name = 5\n"), "invalid app");
  refused(409, call("POST", "/v1/apps", std::string(kApp).replace(std::string(kApp).find("\"web\""), 5, "\"thief\"")),
          "node-port conflict");
  refused(404, call("GET", "/v1/nope"), "unknown path");
  refused(404, call("DELETE", "/v1/sandboxes/sb-none"), "unknown sandbox");
  refused(405, call("DELETE", "/v1/services"), "wrong method");
  {
    // A client that never finishes its request is cut off after the read timeout while
    // others are served.
    const int slow = testing::connect_unix(socket_);
    ASSERT_GE(slow, 0);
    const std::string partial = "POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nname =";
    ASSERT_GT(::send(slow, partial.data(), partial.size(), MSG_NOSIGNAL), 0);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(call("GET", "/v1/services").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 800ms);
    testing::read_reply(slow, 5s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s) << "cut off";
    ::close(slow);
    EXPECT_EQ(store_bytes(), before) << "the unfinished request changed the store";
  }

  // Removal: the sandbox, then the app.
  ASSERT_EQ(call("DELETE", "/v1/sandboxes/sb-1").status, 200);
  ASSERT_EQ(call("DELETE", "/v1/apps/web").status, 200);
  EXPECT_EQ(json::parse(call("GET", "/v1/services").body)["services"], json::array());
}

TEST_F(ApiMetrics, AUidOutsideTheGroupIsRefusedEvenWhenTheModeLetsItIn) {
  // nogroup (65534) may use the API; "users" (100) may not.
  start_api("nogroup");
  struct stat st{};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, 65534u);
  EXPECT_EQ(as_user(65534, 65534, "GET", "/v1/services"), "200") << "a member";
  EXPECT_EQ(as_user(65534, 100, "GET", "/v1/services"), "connect: EACCES") << "the mode keeps a non-member out";
  const std::string before = store_bytes();
  ::chmod(socket_.c_str(), 0666);  // a mistake by hand: the peer check still refuses
  EXPECT_EQ(as_user(65534, 100, "GET", "/v1/services"), "403");
  EXPECT_EQ(as_user(65534, 100, "DELETE", "/v1/apps/web"), "403");
  EXPECT_EQ(store_bytes(), before);
}

// The label sets of the frontend and backend families, as the parser read them.
std::map<std::string, std::set<std::string>> label_sets(const json& families) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [name, f] : families.items()) {
    if (name.rfind("portway_frontend_", 0) != 0 && name.rfind("portway_backend_", 0) != 0) continue;
    for (const auto& s : f["samples"]) out[name].insert(s["labels"].dump());
  }
  return out;
}

TEST_F(ApiMetrics, MetricsParseWithPrometheusClientAndLabelBothDataplanesAlike) {
  start_api();
  ASSERT_EQ(call("POST", "/v1/apps", kApp).status, 200);
  for (std::size_t i = 0; i < 2; ++i)
    ASSERT_EQ(call("POST", "/v1/sandboxes", json{{"app", "web"}, {"service", "web"}, {"ip", ground_->sandbox(i)}}.dump()).status, 201);
  metrics_ = std::make_unique<daemon::MetricsServer>(config::ListenAddress{"127.0.0.1", 0}, [this] { return status_; },
                                                     [this] { return stats(); });
  metrics_->start();
  status_.ready = false;
  EXPECT_EQ(testing::tcp_http("127.0.0.1", metrics_->port(), http_request("GET", "/readyz")).status, 503);
  EXPECT_EQ(testing::tcp_http("127.0.0.1", metrics_->port(), http_request("GET", "/healthz")).status, 200);
  EXPECT_EQ(testing::tcp_http("127.0.0.1", metrics_->port(), http_request("GET", "/nope")).status, 404);

  std::map<std::string, std::map<std::string, std::set<std::string>>> labels;
  for (const auto kind : {dataplane::Kind::xdp, dataplane::Kind::nft}) {
    const std::string name(dataplane::to_string(kind));
    program(kind);
    EXPECT_EQ(testing::tcp_http("127.0.0.1", metrics_->port(), http_request("GET", "/readyz")).status, 200);
    const auto m = testing::tcp_http("127.0.0.1", metrics_->port(), http_request("GET", "/metrics"));
    ASSERT_EQ(m.status, 200) << name;
    EXPECT_NE(m.headers.find("text/plain; version=0.0.4"), std::string::npos) << m.headers;
    const std::string file = run_dir_ + "/metrics-" + name + ".txt";
    std::ofstream(file) << m.body;
    int rc = -1;
    const std::string parsed = shell("/usr/bin/python3 " + std::string(PORTWAY_API_CLIENT) + " parse-metrics " + file, &rc);
    ASSERT_EQ(rc, 0) << name << ": prometheus_client refused it:\n" << m.body;
    const json families = json::parse(parsed)["families"];
    for (const auto& [family, f] : families.items()) {
      EXPECT_FALSE(f["help"].get<std::string>().empty()) << family;
      EXPECT_NE(f["type"], "unknown") << family << " has no TYPE";
    }
    for (const char* required : {"portway_frontend_packets", "portway_frontend_bytes", "portway_frontend_new_flows",
                                 "portway_frontend_rejects", "portway_backend_packets", "portway_backend_new_flows",
                                 "portway_drops", "portway_sync_seconds", "portway_store_generation",
                                 "portway_programmed_generation", "portway_drift_repairs", "portway_dataplane_info"})
      EXPECT_TRUE(families.contains(required)) << name << " lacks " << required;
    EXPECT_EQ(families["portway_dataplane_info"]["samples"][0]["labels"],
              (json{{"dataplane", name}, {"reason", "requested"}}));
    labels[name] = label_sets(families);

    // `portway stats --prometheus`: the same renderer, so the same families and labels.
    const std::string cli_file = run_dir_ + "/cli-" + name + ".txt";
    std::ofstream(cli_file) << cli_prometheus(kind);
    const std::string cli_parsed = shell("/usr/bin/python3 " + std::string(PORTWAY_API_CLIENT) + " parse-metrics " + cli_file, &rc);
    ASSERT_EQ(rc, 0) << name << ": prometheus_client refused stats --prometheus:\n" << slurp(cli_file);
    const json cli_families = json::parse(cli_parsed)["families"];
    EXPECT_EQ(label_sets(cli_families), labels[name]) << slurp(cli_file);
    for (const auto& [family, f] : cli_families.items()) {
      EXPECT_FALSE(f["help"].get<std::string>().empty()) << family;
      EXPECT_NE(f["type"], "unknown") << family;
    }
    ASSERT_FALSE(labels[name]["portway_frontend_packets"].empty()) << m.body;
    EXPECT_TRUE(labels[name]["portway_backend_packets"].count(
        json{{"service", "svc/web/web"}, {"backend", ground_->sandbox(0)}}.dump()))
        << name << ": backends labelled with the Service id\n" << m.body;
  }
  EXPECT_EQ(labels["xdp"], labels["nft"]);
}

}  // namespace
}  // namespace portway
