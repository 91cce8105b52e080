// The local API's request handling against a real store (no socket): every route of
// docs/api.md, the objects the CLI's --json prints, and every bad request answered with a
// clean error that leaves the store's bytes as they were.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/api_routes.h"
#include "model_support/app_text.h"
#include "model_support/temp_dir.h"

namespace portway::daemon {
namespace {

using nlohmann::json;

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ApiRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.file("state.db");
    context_.state_path = db_;
    auto parsed = config::parse_node_settings("service_cidr = \"198.18.0.0/24\"\nservice_cidr6 = \"2001:2::/64\"\n", "node.toml");
    ASSERT_TRUE(parsed.settings);
    context_.node = *parsed.settings;
    context_.status = [this] { return status_; };
    context_.stats = [] {
      dataplane::Stats s;
      s.frontends["198.18.0.7:6667/tcp"] = {1, 2, 3, 4};
      return s;
    };
  }

  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    return handle_api_request(context_, {method, path, body});
  }

  // Every file of the state directory, byte for byte (the database and any journal).
  std::string store_bytes() {
    std::string all;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
      if (e.path().filename().string().rfind("state.db", 0) == 0) all += e.path().string() + "\n" + slurp(e.path().string());
    return all;
  }

  std::string cli_json(const std::string& args) {
    const std::string out = dir_.file("cli-out");
    const std::string cmd = "PORTWAY_STATE=" + db_ + " " + PORTWAY_BINARY + " " + args + " >" + out + " 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return slurp(out);
  }

  // The node file with the same settings, for the CLI (only its owner may write it).
  std::string write_node() {
    const std::string p = dir_.file("node.toml");
    std::ofstream(p) << "service_cidr = \"198.18.0.0/24\"\nservice_cidr6 = \"2001:2::/64\"\n";
    std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return p;
  }

  void apply_irc() {
    const auto r = call("POST", "/v1/apps", slurp(std::string(PORTWAY_EXAMPLES_DIR) + "/irc.toml"));
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }

  std::string add_sandbox(const std::string& id, const std::string& ip) {
    json body{{"app", "irc"}, {"service", "irc"}, {"ip", ip}, {"labels", {{"tier", "a"}}}};
    if (!id.empty()) body["id"] = id;
    const auto r = call("POST", "/v1/sandboxes", body.dump());
    EXPECT_EQ(r.status, 201) << r.body.dump();
    return r.body.value("id", "");
  }

  // Asserts the request is answered `status` with validate --json's error objects, and that
  // the store did not change.
  json refused(int status, const std::string& method, const std::string& path, const std::string& body = "") {
    const std::string before = store_bytes();
    const ApiResponse r = call(method, path, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body.dump();
    EXPECT_TRUE(r.body.contains("errors") && r.body["errors"].is_array() && !r.body["errors"].empty()) << r.body.dump();
    for (const auto& e : r.body["errors"]) {
      EXPECT_TRUE(e.contains("line") && e.contains("col") && e.contains("path") && e["message"].is_string()) << e.dump();
    }
    EXPECT_EQ(store_bytes(), before) << method << " " << path << " changed the store";
    return r.body;
  }

  testing::TempDir dir_;
  std::string db_;
  ApiContext context_;
  DaemonStatus status_;
};

TEST_F(ApiRoutes, ApplyAnswersWhatApplyJsonPrintsAndServicesWhatServicesJsonPrints) {
  const auto r = call("POST", "/v1/apps", slurp(std::string(PORTWAY_EXAMPLES_DIR) + "/irc.toml"));
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["app"], (json{{"name", "irc"}, {"version", 1}, {"changed", true}}));
  ASSERT_EQ(r.body["services"].size(), 1u);
  EXPECT_EQ(r.body["services"][0]["id"], "svc/irc/irc");
  EXPECT_EQ(r.body["services"][0]["change"], "created");

  const auto services = call("GET", "/v1/services");
  ASSERT_EQ(services.status, 200);
  EXPECT_EQ(services.body, json::parse(cli_json("services --json")));

  // The same text again: what `apply --json` says for an unchanged app.
  const std::string app_file = std::string(PORTWAY_EXAMPLES_DIR) + "/irc.toml";
  const json cli = json::parse(cli_json("apply --json --node " + write_node() + " " + app_file));
  const auto again = call("POST", "/v1/apps", slurp(app_file));
  EXPECT_EQ(again.body, cli);
}

TEST_F(ApiRoutes, SandboxesRegisterChangeStateAndGo) {
  apply_irc();
  const std::string id = add_sandbox("sb-api-1", "198.18.1.2");
  EXPECT_EQ(id, "sb-api-1");
  const json listed = json::parse(cli_json("sandbox list --json"));
  ASSERT_EQ(listed["sandboxes"].size(), 1u);
  EXPECT_EQ(listed["sandboxes"][0]["labels"]["tier"], "a");

  auto r = call("PATCH", "/v1/sandboxes/sb-api-1", R"({"state":"draining"})");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body, (json{{"id", "sb-api-1"}, {"before", "running"}, {"state", "draining"}, {"changed", true}}));
  EXPECT_EQ(call("GET", "/v1/services").body["services"][0]["endpoints"][0]["state"], "draining");

  r = call("DELETE", "/v1/sandboxes/sb-api-1");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(json::parse(cli_json("sandbox list --json"))["sandboxes"], json::array());

  const std::string generated = add_sandbox("", "198.18.1.3");
  EXPECT_EQ(generated.rfind("sb-", 0), 0u) << "no id given: one is generated";
}

TEST_F(ApiRoutes, DeleteAppRemovesItsServices) {
  apply_irc();
  const auto r = call("DELETE", "/v1/apps/irc");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["services"], json::array({"svc/irc/irc"}));
  EXPECT_EQ(r.body["released_node_ports"], (json::array({{{"node_port", 6697}, {"protocol", "tcp"}}})));
  EXPECT_EQ(call("GET", "/v1/services").body, (json{{"services", json::array()}}));
}

TEST_F(ApiRoutes, StatusAndStatsCarryTheDaemonsView) {
  status_.store_generation = 4;
  status_.programmed_generation = 3;
  status_.dataplane = "nft";
  auto r = call("GET", "/v1/status");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_TRUE(r.body.contains("active") && r.body.contains("attachments") && r.body.contains("fill"));
  EXPECT_EQ(r.body["daemon"]["store_generation"], 4);
  EXPECT_EQ(r.body["daemon"]["programmed_generation"], 3);

  r = call("GET", "/v1/stats");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["dataplane"], "nft");
  EXPECT_EQ(r.body["frontends"]["198.18.0.7:6667/tcp"],
            (json{{"packets", 1}, {"bytes", 2}, {"new_flows", 3}, {"rejected", 4}}));

  status_.dataplane.clear();
  refused(503, "GET", "/v1/stats");
}

TEST_F(ApiRoutes, BadRequestsAreRefusedAndChangeNothing) {
  apply_irc();
  add_sandbox("sb-api-1", "198.18.1.2");

  // Unknown paths and wrong methods.
  refused(404, "GET", "/v1/nothing");
  refused(404, "GET", "/");
  refused(404, "POST", "/v1/apps/irc/extra");
  const json wrong = refused(405, "PUT", "/v1/services");
  EXPECT_EQ(call("PUT", "/v1/services").allow, "GET");
  EXPECT_EQ(call("GET", "/v1/sandboxes/sb-api-1").allow, "PATCH, DELETE");
  refused(405, "GET", "/v1/apps");
  refused(405, "POST", "/v1/status");

  // An invalid app: validate's diagnostics, at line and column.
  const json invalid = refused(400, "POST", "/v1/apps", "name = \"x\"\n[services.a]\nports = 5\n");
  EXPECT_GT(invalid["errors"][0]["line"].get<int>(), 0) << invalid.dump();
  refused(400, "POST", "/v1/apps", "name = [\n");
  refused(400, "POST", "/v1/apps", std::string("name = \"x\xff\"\n"));  // not UTF-8
  refused(400, "POST", "/v1/apps", "");
  // A node port another app holds: 409.
  const json conflict = refused(409, "POST", "/v1/apps", testing::app_text("thief", {{"ircd", 7000, "x", "tcp", 6697}}));
  EXPECT_NE(conflict["errors"][0]["message"].get<std::string>().find("already in use by app \"irc\""), std::string::npos);

  // Malformed JSON and wrong types.
  refused(400, "POST", "/v1/sandboxes", "{\"app\":");
  refused(400, "POST", "/v1/sandboxes", "[1,2]");
  refused(400, "POST", "/v1/sandboxes", "");
  const json types = refused(400, "POST", "/v1/sandboxes", R"({"app":"irc","service":7,"ip":["198.18.1.9"]})");
  ASSERT_EQ(types["errors"].size(), 2u) << types.dump();
  EXPECT_EQ(types["errors"][0]["path"], "service");
  EXPECT_EQ(types["errors"][1]["path"], "ip");
  refused(400, "POST", "/v1/sandboxes", R"({"app":"irc","service":"irc","ip":"198.18.1.9","colour":"red"})");
  refused(400, "POST", "/v1/sandboxes", R"({"app":"irc","service":"irc","ip":"198.18.1.9","labels":["a=b"]})");
  refused(400, "POST", "/v1/sandboxes", R"({"app":"irc","service":"irc","ip":"198.18.1.9","labels":{"a":1}})");
  refused(400, "POST", "/v1/sandboxes", R"({"app":"irc","service":"irc","ip":"not-an-ip"})");
  refused(409, "POST", "/v1/sandboxes", R"({"app":"irc","service":"irc","ip":"198.18.1.9","id":"sb-api-1"})");
  refused(409, "POST", "/v1/sandboxes", R"({"app":"irc","service":"irc","ip":"198.18.1.2"})");
  refused(400, "PATCH", "/v1/sandboxes/sb-api-1", R"({"state":"paused"})");
  refused(400, "PATCH", "/v1/sandboxes/sb-api-1", R"({"state":1})");
  refused(400, "PATCH", "/v1/sandboxes/sb-api-1", R"({"state":"stopped","extra":true})");
  refused(400, "PATCH", "/v1/sandboxes/sb-api-1", "not json");

  // Names of nothing stored.
  refused(404, "PATCH", "/v1/sandboxes/sb-none", R"({"state":"stopped"})");
  refused(404, "DELETE", "/v1/sandboxes/sb-none");
  refused(404, "DELETE", "/v1/apps/none");
}

TEST_F(ApiRoutes, WithoutAStoreReadsAreEmptyAndDeletesFindNothing) {
  EXPECT_EQ(call("GET", "/v1/services").body, (json{{"services", json::array()}}));
  refused(404, "DELETE", "/v1/apps/irc");
  refused(404, "DELETE", "/v1/sandboxes/sb-1");
  EXPECT_FALSE(std::filesystem::exists(db_)) << "reads and refused writes create no store";
}

}  // namespace
}  // namespace portway::daemon
