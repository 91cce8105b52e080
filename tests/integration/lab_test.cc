// `portway lab` end to end (the demo's own path): up, run on both dataplanes, down. Every
// frontend must answer from a sandbox, from the node and (node ports) from the client; the
// node's rows on the fast path go through the cgroup socket hooks. Also what the node's own
// sockets see through those hooks: the frontend as the peer, ECONNREFUSED on a reject.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>

#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/cgroup_dir.h"
#include "lab/lab.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "loader/cgroup_link.h"
#include "loader/sock_maps.h"
#include "loader/xdp_link.h"
#include "netlink/netns.h"
#include "support/root.h"

namespace portway::lab {
namespace {

namespace fs = std::filesystem;

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    cfg_.prefix = "pwlt" + std::to_string(getpid() % 100000);
    cfg_.dir = "/run/portway-labtest-" + std::to_string(getpid());
    cfg_.examples_dir = PORTWAY_SOURCE_DIR "/testdata/apps";
    cfg_.testapp = PORTWAY_TESTAPP;
    cfg_.app_lifetime_seconds = 300;
    lab_down(cfg_);  // a crashed earlier run of this pid's prefix
    settings_ = lab_node_settings(cfg_);
    ASSERT_FALSE(settings_.cgroup.empty()) << "no cgroup v2 hierarchy mounted on this machine";
    up_ = true;
    lab_up(cfg_, config::DataplaneChoice::xdp);
  }

  void TearDown() override {
    if (!up_) return;
    lab_down(cfg_);
    EXPECT_FALSE(netlink::named_netns_exists(plan_topology({cfg_.prefix, 0}).node_netns));
    EXPECT_FALSE(fs::exists(settings_.bpffs_dir)) << "pins left behind";
    EXPECT_FALSE(fs::exists(settings_.cgroup)) << "cgroup left behind";
    EXPECT_FALSE(fs::exists(cfg_.dir)) << "lab directory left behind";
  }

  // A UDP exchange from an unconnected socket of the node's cgroup: the reply's source is
  // what recvfrom reported, so the recvmsg4 hook's rewrite is visible.
  ProbeResult unconnected_udp_from_node(const std::string& addr, std::uint16_t port) {
    const std::string node_netns = plan_topology({cfg_.prefix, 0}).node_netns;
    return probe_in_cgroup(settings_.cgroup, [&] {
      ProbeResult r;
      netlink::NetnsGuard in(node_netns);
      const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      timeval tv{2, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(port);
      inet_pton(AF_INET, addr.c_str(), &to.sin_addr);
      char buf[512];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = -1;
      if (sendto(fd, "WHO", 3, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 3)
        n = recvfrom(fd, buf, sizeof buf - 1, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) {
        r.status = errno == ECONNREFUSED ? ProbeStatus::refused : ProbeStatus::timeout;
        r.error = std::strerror(errno);
      } else {
        char text[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
        r.status = ProbeStatus::ok;
        r.reply = std::string(buf, static_cast<std::size_t>(n));
        r.error = std::string(text) + ":" + std::to_string(ntohs(from.sin_port));  // the source
      }
      close(fd);
      return r;
    });
  }

  LabConfig cfg_;
  config::NodeSettings settings_;
  bool up_ = false;
};

TEST_F(LabTest, EveryFrontendAnswersOnBothDataplanes) {
  const auto rows = lab_run(cfg_, {config::DataplaneChoice::xdp, config::DataplaneChoice::nft});
  std::set<std::string> seen;  // dataplane/from
  for (const auto& r : rows) {
    EXPECT_TRUE(r.ok) << r.frontend << " " << r.protocol << " from " << r.from << " on " << r.dataplane
                      << ": " << r.result;
    seen.insert(r.dataplane + "/" + (r.from.starts_with("sandbox") ? "sandbox" : r.from));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"xdp/client", "xdp/node", "xdp/sandbox", "nft/client",
                                         "nft/node", "nft/sandbox"}));
  // Both dataplanes probe the same frontends.
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(), [](const LabRow& r) { return r.dataplane == "xdp"; }) * 2,
            static_cast<long>(rows.size()));
}

TEST_F(LabTest, NodeSocketsSeeTheFrontendAndRefusals) {
  // dns: 198.19.0.x:53/udp of svc/dns/resolver, found through the lab's state as lab_run does.
  const auto rows = lab_run(cfg_, {config::DataplaneChoice::xdp});
  const auto dns = std::find_if(rows.begin(), rows.end(), [](const LabRow& r) {
    return r.from == "node" && r.protocol == "udp" && r.frontend.find(":53 ") != std::string::npos;
  });
  ASSERT_NE(dns, rows.end());
  const std::string vip = dns->frontend.substr(0, dns->frontend.find(':'));

  const ProbeResult r = unconnected_udp_from_node(vip, 53);
  ASSERT_EQ(r.status, ProbeStatus::ok) << r.error;
  WhoAnswer who;
  ASSERT_TRUE(parse_who(r.reply, who)) << r.reply;
  EXPECT_TRUE(who.sandbox.starts_with("dns-resolver-")) << who.sandbox;
  EXPECT_EQ(r.error, vip + ":53") << "recvfrom must report the frontend, not the backend";

  const std::string node_netns = plan_topology({cfg_.prefix, 0}).node_netns;
  // Undeclared port of a service address: refused at connect(), as a reset would.
  const ProbeResult undeclared = probe_in_cgroup(settings_.cgroup, [&] { return tcp_probe(node_netns, vip, 5999); });
  EXPECT_EQ(undeclared.status, ProbeStatus::refused) << undeclared.error;
  const ProbeResult undeclared_udp = unconnected_udp_from_node(vip, 5999);
  EXPECT_EQ(undeclared_udp.status, ProbeStatus::refused) << undeclared_udp.error;

  // The hooks act in the node's namespace only: pw_sock_config holds its cookie.
  netlink::NetnsGuard in(node_netns);
  const std::string maps = settings_.bpffs_dir + "/maps/";
  loader::UniqueFd config = loader::open_pinned(maps + "pw_sock_config");
  loader::UniqueFd reverse = loader::open_pinned(maps + "pw_sock_reverse");
  ASSERT_TRUE(config && reverse);
  loader::SockMaps sock({config.get(), reverse.get()});
  EXPECT_EQ(sock.netns_cookie(), loader::current_netns_cookie());
  EXPECT_GT(sock.reverse_count(), 0u);
  // One link per hook, on the lab's cgroup.
  const auto attached = dataplane::xdp::XdpDataplane(settings_).attachments();
  EXPECT_EQ(std::count_if(attached.begin(), attached.end(),
                          [](const auto& a) { return a.hook.starts_with("cgroup-"); }),
            4);
}

TEST_F(LabTest, UpRefusesALabThatIsAlreadyUp) {
  EXPECT_THROW(lab_up(cfg_, config::DataplaneChoice::xdp), std::runtime_error);
  // ... and changed nothing: the lab still answers.
  const auto rows = lab_run(cfg_, {config::DataplaneChoice::xdp});
  EXPECT_TRUE(std::all_of(rows.begin(), rows.end(), [](const LabRow& r) { return r.ok; }));
}

}  // namespace
}  // namespace portway::lab
