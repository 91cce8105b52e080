// `portway validate` as a user runs it: the real binary, its exit codes, stderr lines and the
// JSON shape of docs/cli.md.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_run.h"

namespace {

namespace fs = std::filesystem;
using portway::testing::CliRun;

class ValidateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "portway-cli-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content, mode_t mode = 0644) {
    return portway::testing::write_file((dir_ / name).string(), content, mode);
  }

  CliRun run(const std::string& args) { return portway::testing::run_portway("", args, dir_.string()); }

  static std::string example(const std::string& name) {
    return std::string(PORTWAY_EXAMPLES_DIR) + "/" + name;
  }

  fs::path dir_;
};

TEST_F(ValidateCli, EveryShippedExampleIsValid) {
  const CliRun r = run("validate " + example("irc.toml") + " " + example("tcp-echo.toml") + " " +
                    example("game.toml") + " " + example("dns.toml") + " " +
                    example("legacy-worker.toml"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("irc.toml: ok (app irc: 1 services, 1 need an L4 Service)"), std::string::npos) << r.out;
}

TEST_F(ValidateCli, InvalidFileExitsOneWithCompilerStyleErrors) {
  const std::string f = write("bad.toml", "name = \"a\"\n[[services.s.ports]]\nport = 0\nname = \"x\"\nprotocol = \"udp\"\n");
  const CliRun r = run("validate " + f);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, f + ":3:8: services.s.ports[0].port: port must be between 1 and 65535 (got 0)\n" +
                       f + ":5:1: services.s.ports[0].protocol: unknown key \"protocol\"; did you mean \"type\"?\n");
}

TEST_F(ValidateCli, JsonShapeForValidAndInvalidFiles) {
  const std::string bad = write("bad.toml", "name = \"a\"\n[services.w]\nport = 70000\n");
  const CliRun r = run("validate --json " + example("dns.toml") + " " + bad);
  EXPECT_EQ(r.exit_code, 1);
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["files"].size(), 2u);
  const auto& ok = j["files"][0];
  EXPECT_EQ(ok["valid"], true);
  EXPECT_TRUE(ok["errors"].empty());
  EXPECT_EQ(ok["app"]["name"], "dns");
  const auto& svc = ok["app"]["services"][0];
  EXPECT_EQ(svc["name"], "resolver");
  EXPECT_EQ(svc["l4_service"], true);
  EXPECT_EQ(svc["port_env"], 53);
  EXPECT_EQ(svc["ports"][0], (nlohmann::json{{"name", "dns-udp"}, {"port", 53}, {"type", "udp"},
                                             {"protocol", "udp"}, {"node_port", 5353}, {"implicit", false}}));
  const auto& ko = j["files"][1];
  EXPECT_EQ(ko["file"], bad);
  EXPECT_EQ(ko["valid"], false);
  EXPECT_TRUE(ko["app"].is_null());
  ASSERT_EQ(ko["errors"].size(), 1u);
  EXPECT_EQ(ko["errors"][0], (nlohmann::json{{"line", 3}, {"col", 8}, {"path", "services.w.port"},
                                              {"message", "port must be between 1 and 65535 (got 70000)"}}));
}

TEST_F(ValidateCli, UnreadableFileIsExitTwo) {
  const CliRun r = run("validate " + (dir_ / "missing.toml").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("No such file"), std::string::npos);
}

TEST_F(ValidateCli, UsageErrorsAreExitTwo) {
  EXPECT_EQ(run("validate").exit_code, 2);
  EXPECT_EQ(run("validate --bogus " + example("irc.toml")).exit_code, 2);
  EXPECT_EQ(run("no-such-command").exit_code, 2);
  EXPECT_EQ(run("").exit_code, 2);
}

TEST_F(ValidateCli, HelpIsExitZero) {
  const CliRun r = run("validate --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: portway validate"), std::string::npos);
  EXPECT_EQ(run("--help").exit_code, 0);
}

TEST_F(ValidateCli, NodeSettingsChangeTheReservedPorts) {
  const std::string app = write("app.toml", "name = \"a\"\n[[services.s.ports]]\nport = 80\nname = \"x\"\nnode_port = 30000\n");
  EXPECT_EQ(run("validate " + app).exit_code, 0);
  const std::string node = write("node.toml", "reserved_node_ports = [30000]\n");
  const CliRun r = run("validate --node " + node + " " + app);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("node_port 30000 is reserved on this node (reserved: 30000)"), std::string::npos) << r.err;
}

TEST_F(ValidateCli, InvalidNodeSettingsAreRejected) {
  const std::string node = write("node.toml", "uplink = [\"eth0\"]\n");
  const CliRun r = run("validate --node " + node + " " + example("irc.toml"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("did you mean \"uplinks\"?"), std::string::npos) << r.err;
}

TEST_F(ValidateCli, WorldWritableNodeSettingsAreRefused) {
  const std::string node = write("node.toml", "", 0666);
  const CliRun r = run("validate --node " + node + " " + example("irc.toml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("world-writable"), std::string::npos) << r.err;
}

TEST_F(ValidateCli, NonUtf8FileNameStillGivesValidJson) {
  const std::string f = write("bad\xFFname.toml", "name = \"a\"\n");
  const CliRun r = run("validate --json '" + f + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::accept(r.out)) << r.out;
}

}  // namespace
