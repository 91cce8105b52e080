// A service_cidr that covers the node's uplink address is refused by `apply` and by `sync`
// (docs/model.md "Service ranges and the node"), and nothing changes: the store keeps its Services
// and addresses, sync programs nothing. Runs `portway` inside a namespace of the test's own.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dataplane/sync_status.h"
#include "lab/ns_process.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "support/root.h"

namespace portway {
namespace {

namespace fs = std::filesystem;

constexpr const char* kApp = R"(name = "echo"
[services.echo]
command = "/bin/app"
[[services.echo.ports]]
port = 7000
name = "echo"
type = "tcp"
node_port = 7000
)";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ServiceRangeOverlap : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    netns_ = "pw-ovl-" + std::to_string(getpid());
    netlink::create_named_netns(netns_);
    created_ = true;
    {
      netlink::NetnsGuard in(netns_);
      netlink::create_veth("pwovl-up0", "pwovl-peer");
      netlink::set_link_up("pwovl-up0");
      netlink::set_link_up("pwovl-peer");
      netlink::add_address("pwovl-up0", net::Ipv4{0xC6120501u}, 24);  // 198.18.5.1/24
    }
    dir_ = (fs::temp_directory_path() / ("pw-ovl-" + std::to_string(getpid()))).string();
    fs::create_directories(dir_);
    // sync takes its lock in the pin folder: this test's own, never the host's.
    pins_ = "/sys/fs/bpf/pw-ovl-" + std::to_string(getpid());
    const std::string common = "uplinks = [\"pwovl-up0\"]\ndataplane = \"nft\"\nbpffs_dir = \"" + pins_ + "\"\n";
    write("app.toml", kApp);
    write("good.toml", common + "service_cidr = \"198.19.7.0/24\"\n");
    // 198.18.4.0/23 holds the uplink's 198.18.5.1.
    write("bad.toml", common + "service_cidr = \"198.18.4.0/23\"\n");
    // Not the uplink's address, but its network: its neighbours' addresses.
    write("neighbours.toml", common + "service_cidr = \"198.18.5.128/25\"\n");
    // The app's node_port 7000 reserved after the app was applied.
    write("reserved.toml", common + "service_cidr = \"198.19.7.0/24\"\nreserved_node_ports = [22, 7000]\n");
  }
  void TearDown() override {
    if (created_) netlink::delete_named_netns(netns_);
    if (!dir_.empty()) fs::remove_all(dir_);
    std::error_code ignored;
    if (!pins_.empty()) fs::remove_all(pins_, ignored);
  }

  void write(const std::string& name, const std::string& text) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), 0644);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  int portway(std::vector<std::string> args) {
    args.insert(args.begin(), PORTWAY_BINARY);
    auto p = lab::NsProcess::spawn(netns_, args, path("cli.log"));
    return p.wait_exit(std::chrono::seconds(30)).value_or(-1);
  }
  int apply(const std::string& node) {
    return portway({"apply", "--state", path("state.db"), "--node", path(node), path("app.toml")});
  }
  int sync(const std::string& node) {
    return portway({"sync", "--state", path("state.db"), "--node", path(node), "--dataplane", "nft"});
  }
  std::string netns_;
  std::string dir_;
  std::string pins_;
  bool created_ = false;
};

TEST_F(ServiceRangeOverlap, ApplyAndSyncRefuseAndChangeNothing) {
  // Refused on an empty node: no store is even created.
  EXPECT_EQ(apply("bad.toml"), 1);
  EXPECT_FALSE(fs::exists(path("state.db")));
  EXPECT_NE(read_all(path("cli.log")).find("service_cidr 198.18.4.0/23 contains 198.18.5.1, an "
                                           "address of pwovl-up0"),
            std::string::npos)
      << read_all(path("cli.log"));

  ASSERT_EQ(apply("good.toml"), 0) << read_all(path("cli.log"));
  const std::string before = read_all(path("state.db"));

  EXPECT_EQ(apply("bad.toml"), 1);
  EXPECT_EQ(apply("neighbours.toml"), 1);
  EXPECT_NE(read_all(path("cli.log")).find("overlaps 198.18.5.0/24, the network of uplink pwovl-up0"),
            std::string::npos)
      << read_all(path("cli.log"));
  EXPECT_EQ(read_all(path("state.db")), before) << "a refused apply wrote to the store";

  EXPECT_EQ(sync("bad.toml"), 1);
  EXPECT_EQ(sync("neighbours.toml"), 1);
  EXPECT_FALSE(fs::exists(dataplane::sync_status_path(path("state.db"))))
      << "a refused sync programmed the dataplane";
  EXPECT_EQ(read_all(path("state.db")), before);
}

TEST_F(ServiceRangeOverlap, SyncRefusesClaimsOnReservedNodePorts) {
  ASSERT_EQ(apply("good.toml"), 0) << read_all(path("cli.log"));
  EXPECT_EQ(apply("reserved.toml"), 1) << "apply checks reserved ports itself";
  EXPECT_EQ(sync("reserved.toml"), 1);
  EXPECT_NE(read_all(path("cli.log")).find("node_port 7000/tcp of svc/echo/echo is reserved on this node"),
            std::string::npos)
      << read_all(path("cli.log"));
  EXPECT_FALSE(fs::exists(dataplane::sync_status_path(path("state.db"))))
      << "a refused sync programmed the dataplane";
}

}  // namespace
}  // namespace portway
