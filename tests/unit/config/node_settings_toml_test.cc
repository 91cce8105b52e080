// Node settings written by to_toml() read back as the same settings, byte for byte in every
// string, whatever the strings hold: quotes, backslashes, newlines, NUL and other control
// bytes, TOML's own delimiters, non-ASCII.
#include "config/node_settings_toml.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <toml++/toml.h>

namespace portway::config {
namespace {

using namespace std::string_literals;

NodeSettings read_back(const std::string& text) {
  const auto out = parse_node_settings(text, "node.toml");
  if (!out.settings) {
    std::string errors;
    for (const auto& e : out.errors) errors += to_string(e) + "\n";
    ADD_FAILURE() << "the written file does not parse:\n" << errors << "--- file:\n" << text;
    return {};
  }
  return *out.settings;
}

// Text that breaks hand-written TOML, or that a careless serializer changes on the way.
const std::vector<std::string>& hostile() {
  static const std::vector<std::string> texts = {
      "quote\"inside",
      "\"",
      "back\\slash",
      "trailing backslash\\",
      "\\\"",
      "\"\"\"",
      "'''",
      "it's",
      "new\nline",
      "\nleading newline",
      "trailing newline\n",
      "crlf\r\nline",
      "lone\rreturn",
      "tab\there",
      "nul\0byte"s,
      "\x01\x02\x1f\x7f",
      "\x1b[31mred\x1b[0m",
      "x\"\nuplinks = [\"evil\"]\n[maps]\nfrontends = 16\n#",
      "x\" # comment",
      "${HOME} and %s and {}",
      "caf\xc3\xa9",                  // é
      "\xe4\xb8\xad\xe6\x96\x87",      // 中文
      "\xf0\x9f\x98\x80",              // 😀
      "line\xe2\x80\xa8separator",     // U+2028
      "\xef\xbb\xbf" "bom",            // U+FEFF
      std::string(150, '"'),
  };
  return texts;
}

TEST(NodeSettingsToml, DefaultsReadBackUnchanged) {
  const NodeSettings defaults;
  EXPECT_EQ(read_back(to_toml(defaults)), defaults);
}

TEST(NodeSettingsToml, EveryKeyReadsBackUnchanged) {
  NodeSettings s;
  s.uplinks = {"up0", "bond0.100"};
  s.node_addresses = {"198.18.0.1", "2001:2::1"};
  s.sandbox_interfaces = {"sb*", "veth[0-9]*"};
  s.service_cidr = *net::parse_ipv4_prefix("198.18.64.0/18");
  s.service_cidr6 = *net::parse_ipv6_prefix("2001:2:0:1::/64");
  s.reserved_node_ports = {22, 2222, 65535};
  s.dataplane = DataplaneChoice::nft;
  s.bpffs_dir = "/sys/fs/bpf/portway-lab";
  s.cgroup = "/sys/fs/cgroup/portway.slice";
  s.api_socket = "/run/portway-lab/api.sock";
  s.api_group = "portway-admins";
  s.metrics_address = ListenAddress{"::1", 9999};
  s.resync_seconds = 86400;
  s.maps = {.frontends = 16, .backends = 1u << 24, .backend_sets = 1u << 20,
            .maglev_table_size = 1048573, .maglev_slots = 1u << 31, .conntrack = 1024};
  const std::string text = to_toml(s);
  EXPECT_EQ(read_back(text), s) << text;
  EXPECT_EQ(to_toml(read_back(text)), text);

  s.service_cidr6.reset();
  s.metrics_address.reset();
  s.node_addresses.clear();
  EXPECT_EQ(read_back(to_toml(s)), s);
}

// Through the node-settings parser, for every key whose rule lets such text through.
TEST(NodeSettingsToml, HostileTextInPathsReadsBackByteForByte) {
  for (const std::string& h : hostile()) {
    NodeSettings s;
    s.bpffs_dir = "/sys/fs/bpf/" + h;
    s.cgroup = "/" + h;
    s.api_socket = ("/" + h).substr(0, 107);
    const std::string text = to_toml(s);
    const NodeSettings back = read_back(text);
    EXPECT_EQ(back.bpffs_dir, s.bpffs_dir) << text;
    EXPECT_EQ(back.cgroup, s.cgroup) << text;
    EXPECT_EQ(back.api_socket, s.api_socket) << text;
    EXPECT_EQ(back, s) << "another key changed: " << text;
  }
}

// Keys whose rules refuse such names (interface names) still get a well-formed document that
// holds exactly the strings given: the escaping does not depend on a validator upstream.
TEST(NodeSettingsToml, HostileTextInListsIsEscapedNotInterpreted) {
  NodeSettings s;
  s.uplinks = hostile();
  s.sandbox_interfaces = hostile();
  const std::string text = to_toml(s);
  toml::table doc;
  try {
    doc = toml::parse(text);
  } catch (const toml::parse_error& e) {
    FAIL() << e.description() << "\n" << text;
  }
  for (const char* key : {"uplinks", "sandbox_interfaces"}) {
    const toml::array* a = doc[key].as_array();
    ASSERT_NE(a, nullptr) << key;
    ASSERT_EQ(a->size(), hostile().size()) << key;
    for (std::size_t i = 0; i < a->size(); ++i) EXPECT_EQ(a->at(i).value<std::string>(), hostile()[i]) << key << " " << i;
  }
  // The injected lines stayed inside their string: no second [maps] table, no extra key.
  EXPECT_EQ(doc["maps"]["frontends"].value<std::int64_t>(), std::int64_t{s.maps.frontends});
  EXPECT_EQ(doc.size(), 13u);  // every key but the empty cgroup
}

}  // namespace
}  // namespace portway::config
