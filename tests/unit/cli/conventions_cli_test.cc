// The conventions every command follows (docs/cli.md "Conventions"), checked on the real
// binary for every command and subcommand: -h/--help exits 0 with its usage, --version exits 0
// with portway's version, libbpf's and what is installed, an unknown flag exits 2 naming it,
// and each --json output has exactly the keys docs/cli.md lists.
//
// To add a command: add its words to kCommands; if it prints JSON without root, add a row to
// the JsonShapes test with the command line and its shape. Every test here then covers it.
#include <gtest/gtest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "model_support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Every command and subcommand of the binary, as typed after `portway` ("" is portway itself).
const std::vector<std::string> kCommands = {
    "",          "validate",    "apply",       "delete",    "services",   "sandbox", "sandbox add",
    "sandbox set", "sandbox rm", "sandbox list", "sync",     "daemon",     "status",  "stats",
    "probe",     "lab",         "lab up",      "lab run",   "lab down",   "dump",    "pktgen",
    "pktgen send", "pktgen sink",
};

using portway::testing::CliRun;

class ConventionsCli : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0644) {
    return portway::testing::write_file(dir_.file(name), content, mode);
  }

  // PORTWAY_STATE points into the test's folder: nothing here touches /var/lib/portway.
  CliRun run(const std::string& args) {
    return portway::testing::run_portway("PORTWAY_STATE=" + dir_.file("state.db"), args, dir_.file(""));
  }

  static std::string example(const std::string& name) { return std::string(PORTWAY_EXAMPLES_DIR) + "/" + name; }

  portway::testing::TempDir dir_;
};

std::string path_of(const std::string& words) { return words.empty() ? "portway" : "portway " + words; }

TEST_F(ConventionsCli, HelpExitsZeroWithTheCommandsUsage) {
  for (const std::string& command : kCommands) {
    for (const char* flag : {"-h", "--help"}) {
      SCOPED_TRACE(command + " " + flag);
      const CliRun r = run(command + " " + flag);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.err, "");
      EXPECT_EQ(r.out.rfind("usage: " + path_of(command), 0), 0u) << r.out;
      // The conventions are listed on every command's help.
      for (const char* shared : {"-h,--help", "--version", "-v,--verbose", "--log-level"})
        EXPECT_NE(r.out.find(shared), std::string::npos) << shared << " missing from\n" << r.out;
    }
  }
}

TEST_F(ConventionsCli, VersionExitsZeroWithTheThreeFacts) {
  // What is installed depends on the node; every answer names itself and never fails.
  const std::regex installed(
      "(^|\n)bpf programs: (not installed \\(nothing pinned in [^\n]+\\)|cannot read [^\n]+)\n"
      "|(^|\n)bpf program [^ \n]+: id [0-9]+ tag [0-9a-f]{16} name [^\n]*\n");
  for (const std::string& command : kCommands) {
    SCOPED_TRACE(command);
    const CliRun r = run(command + " --version");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("portway " PORTWAY_TEST_VERSION "\nlibbpf 1.", 0), 0u) << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex("\nbpf object built in: fingerprint [0-9a-f]{16}\n"))) << r.out;
    EXPECT_TRUE(std::regex_search(r.out, installed)) << r.out;
  }
}

TEST_F(ConventionsCli, UnknownFlagExitsTwoNamingIt) {
  for (const std::string& command : kCommands) {
    SCOPED_TRACE(command);
    const CliRun r = run(command + " --no-such-flag");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(path_of(command) + ": unknown flag"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
  }
}

TEST_F(ConventionsCli, VerbosityIsAcceptedEverywhere) {
  // -v, -vv and --log-level parse on every command; --help then stops it before it runs.
  for (const std::string& command : kCommands) {
    for (const char* flags : {"-v", "-vv", "--log-level debug"}) {
      SCOPED_TRACE(command + " " + flags);
      EXPECT_EQ(run(command + " " + flags + " --help").exit_code, 0);
    }
  }
  EXPECT_EQ(run("--log-level loud --help").exit_code, 2) << "an unknown level is a usage error";
}

// A JSON shape: an object lists its exact keys, each with the shape of its value; an array
// holds the shape of every element (the data is chosen so that arrays are not empty); a
// string names the type: "string", "number", "bool", "null", "object" (keys not fixed, e.g.
// labels), or several with "|".
void expect_shape(const json& value, const json& shape, const std::string& where) {
  if (shape.is_object()) {
    ASSERT_TRUE(value.is_object()) << where << ": " << value.dump();
    std::vector<std::string> want, got;
    for (const auto& [k, _] : shape.items()) want.push_back(k);
    for (const auto& [k, _] : value.items()) got.push_back(k);
    EXPECT_EQ(got, want) << where;
    for (const auto& [k, v] : value.items())
      if (shape.contains(k)) expect_shape(v, shape[k], where + "." + k);
    return;
  }
  if (shape.is_array()) {
    ASSERT_TRUE(value.is_array()) << where << ": " << value.dump();
    EXPECT_FALSE(value.empty()) << where << ": an empty array proves nothing about its elements";
    for (std::size_t i = 0; i < value.size(); ++i) expect_shape(value[i], shape[0], where + "[" + std::to_string(i) + "]");
    return;
  }
  const std::string types = "|" + shape.get<std::string>() + "|";
  const std::string type = value.is_string() ? "string" : value.is_number() ? "number" : value.is_boolean() ? "bool"
                         : value.is_null()   ? "null"   : value.is_object() ? "object" : "array";
  EXPECT_NE(types.find("|" + type + "|"), std::string::npos) << where << " is " << type << ", wanted " << shape;
}

TEST_F(ConventionsCli, JsonShapes) {
  const std::string node = write("node.toml", "service_cidr = \"198.18.0.0/24\"\nservice_cidr6 = \"2001:2::/64\"\n", 0600);
  const json port = {{"name", "string"}, {"node_port", "number"}, {"port", "number"}, {"protocol", "string"},
                     {"target_port", "number"}, {"type", "string"}};
  const json endpoint = {{"address", "string"}, {"iface", "string"}, {"ipv6", "string|null"},
                         {"sandbox", "string"}, {"state", "string"}};
  const json service = {{"addresses", {"string"}}, {"app", "string"}, {"endpoints", {endpoint}},
                        {"id", "string"}, {"labels", "object"}, {"ports", {port}}, {"revision", "number"},
                        {"selector", "object"}, {"service", "string"}};
  json applied_service = service;
  applied_service["change"] = "string";
  applied_service["endpoints"] = "array";  // applied before its sandbox exists: empty
  const json sandbox = {{"address", "string"}, {"app", "string"}, {"changed_at_ms", "number"}, {"id", "string"},
                        {"iface", "string"}, {"ipv6", "string|null"}, {"labels", "object"},
                        {"service", "string"}, {"state", "string"}};
  const json validated_port = {{"implicit", "bool"}, {"name", "string"}, {"node_port", "number"},
                               {"port", "number"}, {"protocol", "string"}, {"type", "string"}};
  const json error = {{"col", "number"}, {"line", "number"}, {"message", "string"}, {"path", "string"}};
  const std::string bad = write("bad.toml", "name = \"a\"\n[services.w]\nport = 70000\n");

  struct Row {
    std::string args;
    json shape;
  };
  // In order: each row runs on the state the rows before it left.
  const std::vector<Row> rows = {
      {"validate --json " + bad,
       {{"files", {{{"app", "null"}, {"errors", {error}}, {"file", "string"}, {"valid", "bool"}}}}}},
      {"validate --json " + example("dns.toml"),
       {{"files",
         {{{"app",
            {{"name", "string"},
             {"services",
              {{{"ip_families", "array"}, {"l4_service", "bool"}, {"name", "string"}, {"port_env", "number|null"},
                {"ports", {validated_port}}, {"shorthand", "bool"}}}}}},
           {"errors", "array"}, {"file", "string"}, {"valid", "bool"}}}}}},
      {"apply --json --node " + node + " " + example("irc.toml"),
       {{"app", {{"changed", "bool"}, {"name", "string"}, {"version", "number"}}},
        {"deleted", "array"},
        {"services", {applied_service}}}},
      {"sandbox add --app irc --service irc --ip 198.18.100.1 --ip6 2001:2::100:1 --id sb-1", nullptr},
      {"services --json", {{"services", {service}}}},
      {"sandbox list --json", {{"sandboxes", {sandbox}}}},
      {"probe --json",
       {{"fast_path", "bool"},
        {"features", {{{"name", "string"}, {"ok", "bool"}, {"reason", "string"}, {"required", "bool"}}}}}},
      {"delete --json irc",
       {{"app", "string"},
        {"released_addresses", {"string"}},
        {"released_node_ports", {{{"node_port", "number"}, {"protocol", "string"}}}},
        {"services", {"string"}}}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.args);
    const CliRun r = run(row.args);
    ASSERT_LE(r.exit_code, 1) << r.err;  // validate of an invalid file exits 1
    if (row.shape.is_null()) continue;
    const json j = json::parse(r.out);
    expect_shape(j, row.shape, "$");
  }
}

// delete --json prints what was released, as the API's DELETE /v1/apps/{app} does; a delete
// that is refused prints nothing on stdout.
TEST_F(ConventionsCli, DeleteJsonNamesWhatWasReleased) {
  const std::string node = write("node.toml", "service_cidr = \"198.18.0.0/24\"\n", 0600);
  ASSERT_EQ(run("apply --node " + node + " " + example("dns.toml")).exit_code, 0);
  const json services = json::parse(run("services --json").out)["services"];
  ASSERT_EQ(services.size(), 1u);
  const CliRun r = run("delete --json dns");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["app"], "dns");
  EXPECT_EQ(j["services"], json::array({"svc/dns/resolver"}));
  EXPECT_EQ(j["released_addresses"], services[0]["addresses"]);
  EXPECT_EQ(j["released_node_ports"],
            json::parse(R"([{"node_port":5353,"protocol":"tcp"},{"node_port":5353,"protocol":"udp"}])"));
  const CliRun again = run("delete --json dns");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.out, "");
  EXPECT_NE(again.err.find("portway delete: "), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("\"dns\""), std::string::npos) << again.err;
}

}  // namespace
