// apply / delete / services / sandbox as a user (or a script) runs them: the real binary,
// exit codes (0 ok, 1 rejected, 2 usage or environment), stderr lines, JSON of docs/cli.md, and
// "a rejected input changes nothing".
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_run.h"
#include "model_support/app_text.h"
#include "netlink/addressing.h"
#include "model_support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using portway::testing::app_text;

using portway::testing::CliRun;

class ModelCli : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.file("state/state.db");
    node_ = write("node.toml", "service_cidr = \"198.18.0.0/24\"\nservice_cidr6 = \"2001:2::/64\"\n", 0600);
  }

  std::string write(const std::string& name, const std::string& content, mode_t mode = 0644) {
    return portway::testing::write_file(dir_.file(name), content, mode);
  }

  // Runs `portway ARGS` with PORTWAY_STATE pointing into the temp dir (unless `env` says
  // otherwise), so no test ever touches /var/lib/portway.
  CliRun run(const std::string& args, const std::string& env = "") {
    return portway::testing::run_portway(env.empty() ? "PORTWAY_STATE=" + db_ : env, args, dir_.file(""));
  }

  json services_json() {
    const auto r = run("services --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  json sandboxes_json() {
    const auto r = run("sandbox list --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  static std::string example(const std::string& name) {
    return std::string(PORTWAY_EXAMPLES_DIR) + "/" + name;
  }

  portway::testing::TempDir dir_;
  std::string db_;
  std::string node_;
};

TEST_F(ModelCli, ApplyPrintsTheServicesAsJson) {
  const auto r = run("apply --json --node " + node_ + " " + example("irc.toml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const json j = json::parse(r.out);
  EXPECT_EQ(j["app"], (json{{"name", "irc"}, {"version", 1}, {"changed", true}}));
  EXPECT_EQ(j["deleted"], json::array());
  ASSERT_EQ(j["services"].size(), 1u);
  const json& s = j["services"][0];
  EXPECT_EQ(s["id"], "svc/irc/irc");
  EXPECT_EQ(s["change"], "created");
  EXPECT_EQ(s["revision"], 1);
  ASSERT_EQ(s["addresses"].size(), 2u);
  EXPECT_EQ(s["addresses"][0].get<std::string>().rfind("198.18.0.", 0), 0u);
  EXPECT_EQ(s["addresses"][1].get<std::string>().rfind("2001:2::", 0), 0u);
  EXPECT_EQ(s["ports"][1], (json{{"name", "irc-tls"}, {"port", 6697}, {"target_port", 6697},
                                 {"protocol", "tcp"}, {"type", "tcp"}, {"node_port", 6697}}));
  EXPECT_EQ(s["labels"], (json{{"app", "irc"}, {"service", "irc"}, {"managed-by", "portway"}}));
  EXPECT_EQ(s["selector"], (json{{"app", "irc"}, {"service", "irc"}}));
  EXPECT_EQ(s["endpoints"], json::array());
}

TEST_F(ModelCli, TheStateFileIsCreatedPrivatelyWherePortwayStateSays) {
  ASSERT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(::stat(db_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.file("state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // --state wins over the environment.
  const std::string other = dir_.file("other.db");
  ASSERT_EQ(run("apply --state " + other + " --node " + node_ + " " + example("dns.toml")).exit_code, 0);
  EXPECT_EQ(services_json()["services"].size(), 1u) << "dns went to other.db";
  EXPECT_EQ(run("services --json --state " + other).out.find("svc/dns/resolver") != std::string::npos, true);
}

TEST_F(ModelCli, ReapplyIsIdempotentAndSaysSo) {
  ASSERT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 0);
  const auto before = services_json();
  const auto r = run("apply --json --node " + node_ + " " + example("irc.toml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["app"]["changed"], false);
  EXPECT_EQ(j["services"][0]["change"], "unchanged");
  EXPECT_EQ(services_json(), before);
}

// docs/model.md "The node's service ranges": the first apply records them; an apply with
// other ranges (a forgotten --node included) never re-addresses anything silently.
TEST_F(ModelCli, ReapplyWithoutTheNodeFileIsRefusedAndMovesNothing) {
  ASSERT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 0);
  const auto before = services_json();
  const auto r = run("apply " + example("irc.toml"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "portway apply: this node's Services were addressed from service_cidr 198.18.0.0/24, "
                   "service_cidr6 2001:2::/64 (recorded by the first apply), but this apply has "
                   "service_cidr 10.10.0.0/16, no service_cidr6 (the defaults: no --node given): "
                   "applying would move Service addresses. Give the node file the ranges were set "
                   "with (--node), or move every Service into the new ranges deliberately with "
                   "--move-service-ranges\n");
  EXPECT_EQ(services_json(), before);
  // The same ranges from the same file: fine, and unchanged.
  const auto again = run("apply --json --node " + node_ + " " + example("irc.toml"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["services"][0]["change"], "unchanged");
}

TEST_F(ModelCli, TheDefaultsAreRecordedToo) {
  ASSERT_EQ(run("apply " + example("dns.toml")).exit_code, 0);
  const auto before = services_json();
  const auto r = run("apply --node " + node_ + " " + example("dns.toml"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("addressed from service_cidr 10.10.0.0/16, no service_cidr6"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(from " + node_ + ")"), std::string::npos) << r.err;
  EXPECT_EQ(services_json(), before);
}

TEST_F(ModelCli, MovingTheRangesIsDeliberateAndMovesEveryApp) {
  ASSERT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 0);
  ASSERT_EQ(run("apply --node " + node_ + " " + example("dns.toml")).exit_code, 0);
  const std::string moved = write("moved.toml", "service_cidr = \"198.18.1.0/24\"\n", 0600);
  const auto refused = run("apply --node " + moved + " " + example("dns.toml"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--move-service-ranges"), std::string::npos) << refused.err;

  const auto r = run("apply --move-service-ranges --node " + moved + " " + example("dns.toml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "portway apply: service ranges moved to service_cidr 198.18.1.0/24, no service_cidr6; "
                   "re-addressed 1 Service(s) of other apps\n");
  for (const auto& s : services_json()["services"]) {
    ASSERT_EQ(s["addresses"].size(), 1u) << s.dump() << " kept an address of the old service_cidr6";
    EXPECT_EQ(s["addresses"][0].get<std::string>().rfind("198.18.1.", 0), 0u) << s.dump();
  }
  // From now on the new ranges are the node's.
  EXPECT_EQ(run("apply --node " + moved + " " + example("irc.toml")).exit_code, 0);
  EXPECT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 1);
}

TEST_F(ModelCli, NodePortConflictExitsOneAndChangesNothing) {
  ASSERT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 0);
  const auto before = services_json();
  const std::string thief = write("thief.toml", app_text("thief", {{"ircd", 7000, "x", "tcp", 6697}}));
  const auto r = run("apply --node " + node_ + " " + thief);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "portway apply: node_port 6697/tcp (service \"ircd\") is already in use by app \"irc\" service \"irc\"\n");
  EXPECT_EQ(services_json(), before);
}

TEST_F(ModelCli, InvalidAppExitsOneWithCompilerStyleErrors) {
  const std::string bad =
      write("dup.toml", app_text("dup", {{"a", 1, "a", "tcp", 30000}, {"b", 2, "b", "tcp", 30000}}));
  const auto r = run("apply --node " + node_ + " " + bad);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("node_port 30000/tcp"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db_)) << "refused before the store was even opened";
}

TEST_F(ModelCli, ExhaustedPoolExitsOne) {
  const std::string tiny = write("tiny.toml", "service_cidr = \"198.18.0.0/30\"\n", 0600);
  const std::string three =
      write("three.toml", app_text("three", {{"a", 1, "a", "tcp"}, {"b", 1, "b", "tcp"}, {"c", 1, "c", "tcp"}}));
  const auto r = run("apply --node " + tiny + " " + three);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no free IPv4 address: all 2 usable addresses of service_cidr 198.18.0.0/30"),
            std::string::npos) << r.err;
  EXPECT_EQ(services_json()["services"], json::array());
}

TEST_F(ModelCli, UsageAndEnvironmentErrorsExitTwo) {
  EXPECT_EQ(run("apply").exit_code, 2);
  EXPECT_EQ(run("apply a.toml b.toml").exit_code, 2);
  EXPECT_EQ(run("apply --bogus " + example("irc.toml")).exit_code, 2);
  EXPECT_EQ(run("apply " + dir_.file("missing.toml")).exit_code, 2);
  EXPECT_EQ(run("delete").exit_code, 2);
  EXPECT_EQ(run("services extra").exit_code, 2);
  EXPECT_EQ(run("sandbox").exit_code, 2);
  EXPECT_EQ(run("sandbox frobnicate").exit_code, 2);
  EXPECT_EQ(run("sandbox set sb-1").exit_code, 2) << "--to STATE is required";
  EXPECT_EQ(run("sandbox set sb-1 --to paused").exit_code, 2);
  EXPECT_EQ(run("sandbox rm").exit_code, 2);
  // A state path that cannot be a database.
  const std::string junk = write("junk.db", std::string(4096, 'x'), 0600);
  const auto r = run("services --state " + junk);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("portway services: "), std::string::npos) << r.err;
}

// The node file decides what the node forwards: `sync` trusts only one that only its owner
// can change, like `validate` (docs/config.md), and refuses before touching any dataplane.
// (The state path does not exist either, a second stop before the kernel if this one broke.)
TEST_F(ModelCli, SyncRefusesASymlinkedOrWorldWritableNodeFile) {
  const std::string missing_state = dir_.file("no-such/state.db");
  const std::string link = dir_.file("node-link.toml");
  fs::create_symlink(node_, link);
  const auto via_link = run("sync --dataplane nft --state " + missing_state + " --node " + link);
  EXPECT_EQ(via_link.exit_code, 2);
  EXPECT_NE(via_link.err.find("symlink"), std::string::npos) << via_link.err;
  const std::string open = write("node-open.toml", "", 0666);
  const auto writable = run("sync --dataplane nft --state " + missing_state + " --node " + open);
  EXPECT_EQ(writable.exit_code, 2);
  EXPECT_NE(writable.err.find("world-writable"), std::string::npos) << writable.err;
  EXPECT_FALSE(fs::exists(missing_state));
}

// `sync --wait` is a number of seconds; anything else is a usage error, before any lock is
// taken or any dataplane touched.
TEST_F(ModelCli, SyncRefusesAWaitThatIsNotSeconds) {
  const std::string missing_state = dir_.file("no-such/state.db");
  for (const char* wait : {"abc", "-1", "5s", "1e9"}) {
    const auto r = run("sync --dataplane nft --state " + missing_state + " --node " + node_ + " --wait " + wait);
    EXPECT_EQ(r.exit_code, 2) << wait;
    EXPECT_NE(r.err.find("--wait must be a number of seconds"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(missing_state));
}

TEST_F(ModelCli, EveryCommandHasHelp) {
  for (const char* cmd : {"apply", "delete", "services", "sandbox", "sandbox add", "sandbox set",
                          "sandbox rm", "sandbox list"}) {
    const auto r = run(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("usage: portway"), std::string::npos) << cmd;
  }
}

TEST_F(ModelCli, ReadingCommandsNeverCreateState) {
  const auto r = run("services");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(services_json(), (json{{"services", json::array()}}));
  EXPECT_EQ(run("delete irc").exit_code, 1);
  EXPECT_EQ(run("sandbox rm sb-1").exit_code, 1);
  EXPECT_FALSE(fs::exists(db_));
}

TEST_F(ModelCli, DeleteRemovesTheAppsServicesAndFreesItsNodePorts) {
  ASSERT_EQ(run("apply --node " + node_ + " " + example("tcp-echo.toml")).exit_code, 0);
  const auto r = run("delete tcp-echo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deleted svc/tcp-echo/echo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("released node_port 7000/tcp"), std::string::npos) << r.out;
  EXPECT_EQ(services_json()["services"], json::array());
  const auto again = run("delete tcp-echo");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "portway delete: app \"tcp-echo\" is not applied\n");
}

TEST_F(ModelCli, SandboxesBecomeEndpointsWithTheirState) {
  // Registered before the app is applied: level-triggered endpoints still find them.
  const auto added = run("sandbox add --app irc --service irc --ip 198.18.100.1 --iface veth-a --label tier=edge");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string generated = added.out.substr(0, added.out.size() - 1);
  EXPECT_EQ(generated.rfind("sb-", 0), 0u) << added.out;
  ASSERT_EQ(run("sandbox add --app irc --service irc --ip 198.18.100.2 --ip6 2001:2::100:2 --id a-b").out, "a-b\n");
  ASSERT_EQ(run("sandbox add --app irc --service other --ip 198.18.100.3 --id sb-c").exit_code, 0);
  ASSERT_EQ(run("sandbox add --app irc --service irc --ip 198.18.100.4 --id sb-d").exit_code, 0);
  ASSERT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 0);

  const auto set = run("sandbox set a-b --to draining");
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "sandbox a-b: running -> draining\n");
  EXPECT_EQ(run("sandbox set sb-d --to stopped").exit_code, 0);

  const json eps = services_json()["services"][0]["endpoints"];
  ASSERT_EQ(eps.size(), 2u) << eps.dump();
  EXPECT_EQ(eps[0], (json{{"sandbox", "a-b"}, {"address", "198.18.100.2"}, {"ipv6", "2001:2::100:2"},
                          {"iface", ""}, {"state", "draining"}}));
  EXPECT_EQ(eps[1], (json{{"sandbox", generated}, {"address", "198.18.100.1"}, {"ipv6", nullptr},
                          {"iface", "veth-a"}, {"state", "running"}}));

  const auto text = run("services");
  EXPECT_NE(text.out.find("endpoints: a-b 198.18.100.2/2001:2::100:2 draining, " + generated + " 198.18.100.1 running"),
            std::string::npos) << text.out;

  ASSERT_EQ(run("sandbox rm a-b").exit_code, 0);
  EXPECT_EQ(services_json()["services"][0]["endpoints"].size(), 1u);
}

// docs/model.md "Address families": a sandbox with only an IPv6 address is stored, is an
// endpoint, and is shown without an IPv4 address (null in JSON, nothing in text).
TEST_F(ModelCli, AnIpv6OnlySandboxIsStoredAndShownWithItsOneAddress) {
  const auto added = run("sandbox add --app irc --service irc --ip6 2001:2::100:6 --id sb-6");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  ASSERT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 0);
  const json eps = services_json()["services"][0]["endpoints"];
  ASSERT_EQ(eps.size(), 1u) << eps.dump();
  EXPECT_EQ(eps[0], (json{{"sandbox", "sb-6"}, {"address", nullptr}, {"ipv6", "2001:2::100:6"},
                          {"iface", ""}, {"state", "running"}}));
  EXPECT_EQ(sandboxes_json()["sandboxes"][0]["address"], nullptr) << sandboxes_json().dump();
  const auto text = run("services");
  EXPECT_NE(text.out.find("endpoints: sb-6 2001:2::100:6 running"), std::string::npos) << text.out;
  const auto list = run("sandbox list");
  EXPECT_NE(list.out.find("sb-6  irc/irc  2001:2::100:6  running"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("0.0.0.0"), std::string::npos) << list.out;
  const auto taken = run("sandbox add --app irc --service irc --ip6 2001:2::100:6");
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_NE(taken.err.find("--ip6 2001:2::100:6 is already the address of sandbox \"sb-6\""), std::string::npos)
      << taken.err;
}

TEST_F(ModelCli, BadSandboxInputExitsOneAndChangesNothing) {
  ASSERT_EQ(run("sandbox add --app a --service s --ip 198.18.100.1 --id sb-1").exit_code, 0);
  const auto before = sandboxes_json();
  const struct {
    const char* args;
    const char* message;
  } cases[] = {
      {"--app A --service s --ip 198.18.100.9", "--app \"A\""},
      {"--app a --service s_x --ip 198.18.100.9", "--service \"s_x\""},
      {"--app a --service s --ip 198.18.100", "--ip \"198.18.100\" is not an IPv4 address"},
      {"--app a --service s --ip 127.0.0.1", "is a loopback address"},
      {"--app a --service s --ip 198.18.100.9 --ip6 zz::1", "--ip6 \"zz::1\""},
      {"--app a --service s --ip 198.18.100.9 --iface 'a;b'", "--iface \"a;b\""},
      {"--app a --service s --ip 198.18.100.9 --label novalue", "label \"novalue\" is not KEY=VALUE"},
      {"--app a --service s --ip 198.18.100.9 --label 'k=v w'", "label value \"v w\""},
      {"--app a --service s --ip 198.18.100.9 --id 'x y'", "--id \"x y\""},
      {"--app a --service s --ip 198.18.100.9 --id sb-1", "sandbox \"sb-1\" is already registered"},
      {"--app b --service t --ip 198.18.100.1", "--ip 198.18.100.1 is already the address of sandbox \"sb-1\""},
      {"--app a --service s", "a sandbox needs an address: give --ip (IPv4), --ip6 (IPv6) or both"},
      {"--app a --service s --ip6 ::1", "--ip6 \"::1\" is the loopback address"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    const auto r = run(std::string("sandbox add ") + c.args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_EQ(run("sandbox set nope --to stopped").exit_code, 1);
  EXPECT_EQ(run("sandbox rm nope").exit_code, 1);
  EXPECT_EQ(sandboxes_json(), before);
}

TEST_F(ModelCli, ASandboxOnAServiceAddressOrTheNodesOwnIsRefused) {
  ASSERT_EQ(run("apply --node " + node_ + " " + example("irc.toml")).exit_code, 0);
  const std::string vip = services_json()["services"][0]["addresses"][0];
  const auto on_vip = run("sandbox add --app a --service s --ip " + vip);
  EXPECT_EQ(on_vip.exit_code, 1);
  EXPECT_EQ(on_vip.err, "portway sandbox: --ip " + vip + " is the service address of svc/irc/irc; a "
                        "sandbox needs an address of its own, outside the service ranges\n");

  // Any unicast IPv4 address of the machine running the test (loopback is refused earlier).
  std::optional<std::string> mine;
  for (const auto& a : portway::netlink::list_addresses()) {
    const auto* v4 = std::get_if<portway::net::Ipv4>(&a.address);
    if (v4 && v4->value >> 24 != 127) mine = portway::net::to_string(*v4);
  }
  if (!mine) GTEST_SKIP() << "this machine has no IPv4 address besides loopback";
  const auto on_node = run("sandbox add --app a --service s --ip " + *mine);
  EXPECT_EQ(on_node.exit_code, 1);
  EXPECT_NE(on_node.err.find("--ip " + *mine + " is an address of this node ("), std::string::npos) << on_node.err;
  EXPECT_EQ(sandboxes_json()["sandboxes"], json::array());
}

// docs/cli.md: portway sandbox set [--state DB] ID --to running|draining|stopped; --state is
// the state database here as in every command.
TEST_F(ModelCli, SandboxSetTakesTheNewStateWithToAndTheDatabaseWithState) {
  const std::string other = dir_.file("other.db");
  ASSERT_EQ(run("sandbox add --state " + other + " --app a --service s --ip 198.18.100.1 --id sb-1").exit_code, 0);
  const auto r = run("sandbox set --state " + other + " sb-1 --to draining");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "sandbox sb-1: running -> draining\n");
  EXPECT_EQ(run("sandbox set sb-1 --to draining --state=" + other).out, "sandbox sb-1: already draining\n");
  EXPECT_NE(run("sandbox list --state " + other).out.find("draining"), std::string::npos);
  EXPECT_FALSE(fs::exists(db_)) << "$PORTWAY_STATE was not used";
}

// The spelling of older scripts, `set ID --state STATE` and `set --state DB ID --state STATE`,
// fails loudly naming --to, and writes nothing: read as a database path, "draining" would
// have opened (or created) ./draining and reported success.
TEST_F(ModelCli, SandboxSetRefusesTheOldStateSpellingNamingTo) {
  ASSERT_EQ(run("sandbox add --app a --service s --ip 198.18.100.1 --id sb-1").exit_code, 0);
  const auto before = sandboxes_json();
  const std::string cwd = dir_.file("cwd");
  fs::create_directories(cwd);
  for (const std::string& args : {std::string("sandbox set sb-1 --state draining"), "sandbox set --state " + db_ + " sb-1 --state stopped",
                                  std::string("sandbox set sb-1 --state running --to draining")}) {
    SCOPED_TRACE(args);
    const auto r = run(args, "cd " + cwd + " && PORTWAY_STATE=" + db_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("portway sandbox set: --state names the state database"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--to "), std::string::npos) << r.err;
  }
  EXPECT_EQ(sandboxes_json(), before);
  EXPECT_TRUE(fs::is_empty(cwd)) << "no database was created under a state's name";
}

TEST_F(ModelCli, ServicesTextShowsAddressesPortsAndNodePorts) {
  ASSERT_EQ(run("apply --node " + node_ + " " + example("dns.toml")).exit_code, 0);
  const auto r = run("services");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("svc/dns/resolver  198.18.0."), std::string::npos) << r.out;
  // The node file has service_cidr6: the Service's IPv6 address is listed beside the IPv4 one.
  EXPECT_NE(r.out.find(", 2001:2::"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ports: dns-udp 53/udp node_port 5353, dns-tcp 53/tcp node_port 5353"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("endpoints: none"), std::string::npos) << r.out;
}

}  // namespace
