#include <gtest/gtest.h>

#include "config/node_settings.h"

namespace portway::config {
namespace {

TEST(NodeSettings, EmptyFileGivesTheDocumentedDefaults) {
  const auto out = parse_node_settings("", "node.toml");
  ASSERT_TRUE(out.settings) << (out.errors.empty() ? "" : to_string(out.errors[0]));
  const NodeSettings& s = *out.settings;
  EXPECT_EQ(s.uplinks, std::vector<std::string>{"eth0"});
  EXPECT_TRUE(s.node_addresses.empty());
  EXPECT_EQ(s.sandbox_interfaces, std::vector<std::string>{"veth*"});
  EXPECT_EQ(net::to_string(s.service_cidr), "10.10.0.0/16");
  EXPECT_FALSE(s.service_cidr6);
  EXPECT_EQ(s.reserved_node_ports, (std::vector<std::uint16_t>{22, 80, 443, 8443}));
  EXPECT_EQ(s.dataplane, DataplaneChoice::automatic);
  EXPECT_EQ(s.bpffs_dir, "/sys/fs/bpf/portway");
  EXPECT_TRUE(s.cgroup.empty()) << "empty = the cgroup v2 root";
  EXPECT_EQ(s.maps, MapCapacities{});
  EXPECT_EQ(s.api_socket, "/run/portway/portway.sock");
  EXPECT_EQ(s.api_group, "") << "root only";
  EXPECT_EQ(s.metrics_address, (ListenAddress{"127.0.0.1", 9462}));
  EXPECT_EQ(s.resync_seconds, 30u);
}

TEST(NodeSettings, ReadsTheDaemonKeys) {
  const auto out = parse_node_settings(R"(
api_socket = "/run/portway-test/api.sock"
api_group = "portway-api"
metrics_address = "[::1]:19462"
resync_seconds = 5
)", "node.toml");
  ASSERT_TRUE(out.settings) << to_string(out.errors.at(0));
  EXPECT_EQ(out.settings->api_socket, "/run/portway-test/api.sock");
  EXPECT_EQ(out.settings->api_group, "portway-api");
  EXPECT_EQ(out.settings->metrics_address, (ListenAddress{"::1", 19462}));
  EXPECT_EQ(to_string(*out.settings->metrics_address), "[::1]:19462");
  EXPECT_EQ(out.settings->resync_seconds, 5u);
}

TEST(NodeSettings, EmptyApiSocketAndMetricsAddressTurnThemOff) {
  const auto out = parse_node_settings("api_socket = \"\"\nmetrics_address = \"\"\n", "node.toml");
  ASSERT_TRUE(out.settings) << to_string(out.errors.at(0));
  EXPECT_EQ(out.settings->api_socket, "");
  EXPECT_FALSE(out.settings->metrics_address);
}

TEST(NodeSettings, DaemonKeyErrorsAreAtFileLineCol) {
  const auto out = parse_node_settings("uplinks = [\"eth0\"]\nmetrics_address = \"localhost:9462\"\n", "node.toml");
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(to_string(out.errors[0]).substr(0, 33), "node.toml:2:19: metrics_address: ") << to_string(out.errors[0]);
}

TEST(NodeSettings, ReadsEveryKey) {
  const auto out = parse_node_settings(R"(
uplinks = ["pw-up0", "pw-up1"]
node_addresses = ["198.18.0.1", "2001:2::1"]
sandbox_interfaces = ["pwsb*"]
service_cidr = "198.19.0.0/24"
service_cidr6 = "2001:2:0:1::/64"
reserved_node_ports = [443, 22, 443]
dataplane = "nft"
bpffs_dir = "/sys/fs/bpf/portway-test"
cgroup = "/sys/fs/cgroup/portway.slice"
[maps]
frontends = 1024
backends = 2048
backend_sets = 128
conntrack = 4096
maglev_table_size = 251
maglev_slots = 65536
)", "node.toml");
  ASSERT_TRUE(out.settings) << to_string(out.errors.at(0));
  const NodeSettings& s = *out.settings;
  EXPECT_EQ(s.uplinks, (std::vector<std::string>{"pw-up0", "pw-up1"}));
  EXPECT_EQ(s.node_addresses.size(), 2u);
  EXPECT_EQ(net::to_string(s.service_cidr), "198.19.0.0/24");
  ASSERT_TRUE(s.service_cidr6);
  EXPECT_EQ(net::to_string(*s.service_cidr6), "2001:2:0:1::/64");
  EXPECT_EQ(s.reserved_node_ports, (std::vector<std::uint16_t>{22, 443})) << "sorted, deduplicated";
  EXPECT_EQ(s.dataplane, DataplaneChoice::nft);
  EXPECT_EQ(s.bpffs_dir, "/sys/fs/bpf/portway-test");
  EXPECT_EQ(s.cgroup, "/sys/fs/cgroup/portway.slice");
  EXPECT_EQ(s.maps.frontends, 1024u);
  EXPECT_EQ(s.maps.maglev_table_size, 251u);
  EXPECT_EQ(s.maps.maglev_slots, 65536u);
  EXPECT_EQ(s.validation_options().reserved_node_ports, s.reserved_node_ports);
}

struct BadCase {
  const char* name;
  const char* text;
  const char* path;
  const char* fragment;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class NodeSettingsRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(NodeSettingsRejects, WithAClearError) {
  const auto out = parse_node_settings(GetParam().text, "node.toml");
  EXPECT_FALSE(out.settings);
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].path, GetParam().path);
  EXPECT_NE(out.errors[0].message.find(GetParam().fragment), std::string::npos) << out.errors[0].message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NodeSettingsRejects,
    ::testing::Values(
        BadCase{"unknown_key", "uplink = [\"eth0\"]\n", "uplink", "did you mean \"uplinks\"?"},
        BadCase{"unknown_map_key", "[maps]\nfrontend = 5\n", "maps.frontend", "did you mean \"frontends\"?"},
        BadCase{"cidr_host_bits", "service_cidr = \"10.10.0.1/16\"\n", "service_cidr", "host bits are set (did you mean 10.10.0.0/16?)"},
        BadCase{"cidr_garbage", "service_cidr = \"ten\"\n", "service_cidr", "missing /length"},
        BadCase{"cidr_too_small", "service_cidr = \"10.0.0.0/31\"\n", "service_cidr", "/30 or larger"},
        BadCase{"cidr6_bad", "service_cidr6 = \"2001:2::1/64\"\n", "service_cidr6", "host bits"},
        BadCase{"reserved_out_of_range", "reserved_node_ports = [0]\n", "reserved_node_ports", "between 1 and 65535"},
        BadCase{"dataplane_bad", "dataplane = \"ebpf\"\n", "dataplane", "\"auto\", \"xdp\" or \"nft\""},
        BadCase{"bpffs_outside", "bpffs_dir = \"/tmp/x\"\n", "bpffs_dir", "under /sys/fs/bpf/"},
        BadCase{"cgroup_relative", "cgroup = \"portway\"\n", "cgroup", "absolute path"},
        BadCase{"cgroup_dotdot", "cgroup = \"/sys/fs/cgroup/../../etc\"\n", "cgroup", "absolute path"},
        BadCase{"bpffs_dotdot", "bpffs_dir = \"/sys/fs/bpf/../../etc\"\n", "bpffs_dir", "under /sys/fs/bpf/"},
        BadCase{"iface_too_long", "uplinks = [\"abcdefghijklmnop\"]\n", "uplinks", "invalid interface name"},
        BadCase{"iface_slash", "uplinks = [\"a/b\"]\n", "uplinks", "invalid interface name"},
        BadCase{"address_bad", "node_addresses = [\"1.2.3\"]\n", "node_addresses", "not an IP address"},
        BadCase{"maglev_not_prime", "[maps]\nmaglev_table_size = 4096\n", "maps.maglev_table_size", "prime"},
        BadCase{"capacity_zero", "[maps]\nconntrack = 0\n", "maps.conntrack", "between 1024"},
        BadCase{"maglev_slots_too_many", "[maps]\nmaglev_slots = 4294967295\n", "maps.maglev_slots", "between 1024"},
        BadCase{"uplinks_not_array", "uplinks = \"eth0\"\n", "uplinks", "must be an array of strings"},
        BadCase{"uplinks_empty", "uplinks = []\n", "uplinks", "must name at least one interface"},
        BadCase{"node_address_zero", "node_addresses = [\"0.0.0.0\"]\n", "node_addresses", "\"0.0.0.0\" is in 0.0.0.0/8"},
        BadCase{"node_address_broadcast", "node_addresses = [\"198.18.0.1\", \"255.255.255.255\"]\n", "node_addresses", "is the broadcast address"},
        BadCase{"node_address_loopback", "node_addresses = [\"127.0.0.2\"]\n", "node_addresses", "is a loopback address"},
        BadCase{"node_address_multicast", "node_addresses = [\"239.1.2.3\"]\n", "node_addresses", "is a multicast address"},
        BadCase{"node_address6_unspecified", "node_addresses = [\"::\"]\n", "node_addresses", "is the unspecified address"},
        BadCase{"node_address6_loopback", "node_addresses = [\"::1\"]\n", "node_addresses", "is the loopback address"},
        BadCase{"node_address6_multicast", "node_addresses = [\"ff02::1\"]\n", "node_addresses", "is a multicast address"},
        BadCase{"sandbox_glob_everything", "sandbox_interfaces = [\"*\"]\n", "sandbox_interfaces", "matches the loopback interface \"lo\""},
        BadCase{"sandbox_glob_uplink", "uplinks = [\"pw-up0\"]\nsandbox_interfaces = [\"veth*\", \"pw-*\"]\n", "sandbox_interfaces", "matches the uplink \"pw-up0\""},
        BadCase{"api_socket_relative", "api_socket = \"portway.sock\"\n", "api_socket", "absolute path"},
        BadCase{"api_socket_dotdot", "api_socket = \"/run/../etc/x.sock\"\n", "api_socket", "without \"..\""},
        BadCase{"api_socket_too_long", "api_socket = \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"\n", "api_socket", "at most 107 characters"},
        BadCase{"api_socket_not_string", "api_socket = 5\n", "api_socket", "must be a string"},
        BadCase{"api_group_option_like", "api_group = \"-wheel\"\n", "api_group", "group name"},
        BadCase{"api_group_space", "api_group = \"a b\"\n", "api_group", "group name"},
        BadCase{"metrics_no_port", "metrics_address = \"127.0.0.1\"\n", "metrics_address", "missing :PORT"},
        BadCase{"metrics_name", "metrics_address = \"localhost:9462\"\n", "metrics_address", "names are not looked up"},
        BadCase{"metrics_port_zero", "metrics_address = \"127.0.0.1:0\"\n", "metrics_address", "between 1 and 65535"},
        BadCase{"metrics_port_big", "metrics_address = \"127.0.0.1:65536\"\n", "metrics_address", "between 1 and 65535"},
        BadCase{"metrics_v6_unbracketed", "metrics_address = \"::1:9462\"\n", "metrics_address", "[IPV6]:PORT"},
        BadCase{"metrics_v6_bad", "metrics_address = \"[::g]:9462\"\n", "metrics_address", "not an IPv6 address"},
        BadCase{"resync_zero", "resync_seconds = 0\n", "resync_seconds", "between 1 and 86400"},
        BadCase{"resync_string", "resync_seconds = \"30\"\n", "resync_seconds", "between 1 and 86400"},
        BadCase{"daemon_key_typo", "resync_second = 30\n", "resync_second", "did you mean \"resync_seconds\"?"},
        BadCase{"sandbox_glob_lo", "sandbox_interfaces = [\"l?\"]\n", "sandbox_interfaces", "matches the loopback"}),
    [](const auto& tc) { return std::string(tc.param.name); });

TEST(NodeSettings, BadValuesAreReportedAtTheirElement) {
  const auto out = parse_node_settings("uplinks = [\"pw-up0\"]\nnode_addresses = [\"198.18.0.1\", \"224.0.0.1\"]\n"
                                       "sandbox_interfaces = [\"veth*\", \"*\"]\n", "node.toml");
  ASSERT_EQ(out.errors.size(), 2u);
  EXPECT_EQ(to_string(out.errors[0]).substr(0, 30), "node.toml:2:33: node_addresses");
  EXPECT_EQ(to_string(out.errors[1]).substr(0, 34), "node.toml:3:32: sandbox_interfaces");
}

TEST(NodeSettings, NotTomlIsAnError) {
  const auto out = parse_node_settings("uplinks = [", "node.toml");
  EXPECT_FALSE(out.settings);
  ASSERT_EQ(out.errors.size(), 1u);
}

TEST(NodeSettings, DataplaneChoiceRoundTrips) {
  for (auto c : {DataplaneChoice::automatic, DataplaneChoice::xdp, DataplaneChoice::nft})
    EXPECT_EQ(parse_dataplane_choice(to_string(c)), c);
  EXPECT_FALSE(parse_dataplane_choice("AUTO"));
}

}  // namespace
}  // namespace portway::config
