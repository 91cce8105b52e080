// `portway lab` end to end (the demo's own path): up, run on both dataplanes, down. Every
// frontend must answer from a sandbox, from the node and (node ports) from the client; the
// node's rows on the fast path go through the cgroup socket hooks. Also what the node's own
// sockets see through those hooks: the frontend as the peer, ECONNREFUSED on a reject.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "agent/sync.h"
#include "dataplane/xdp/meta_maps.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/cgroup_dir.h"
#include "lab/lab.h"
#include "lab/ns_process.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "loader/cgroup_link.h"
#include "loader/sock_maps.h"
#include "loader/xdp_link.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "store/sqlite_store.h"
#include "lab_test_config.h"
#include "support/root.h"

namespace portway::lab {
namespace {

namespace fs = std::filesystem;

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    cfg_ = itest::lab_test_config("pwlt", "labtest");
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

  // `portway ARGS` run in the lab's node namespace, as an operator on the node would; its exit
  // status (-1 if it ran for more than 30 s). Output is appended to cli_log().
  int portway(std::vector<std::string> args) {
    args.insert(args.begin(), PORTWAY_BINARY);
    NsProcess p = NsProcess::spawn(plan_topology({cfg_.prefix, 0}).node_netns, args, cli_log());
    return p.wait_exit(std::chrono::seconds(30)).value_or(-1);
  }
  std::string cli_log() const { return cfg_.dir + "/cli.log"; }
  // `sync --dataplane xdp` of the lab's state with the node file `node` (default: the lab's).
  std::vector<std::string> sync_args(const std::string& node = "") const {
    return {"sync", "--state", cfg_.dir + "/state.db", "--node", node.empty() ? cfg_.dir + "/node.toml" : node,
            "--dataplane", "xdp"};
  }

  // The service address of svc/dns/resolver (53/udp and 53/tcp), found through lab_run's rows.
  std::string dns_vip() {
    const auto rows = lab_run(cfg_, {config::DataplaneChoice::xdp});
    const auto dns = std::find_if(rows.begin(), rows.end(), [](const LabRow& r) {
      return r.from == "node" && r.protocol == "udp" && r.frontend.find(":53 ") != std::string::npos;
    });
    if (dns == rows.end()) return {};
    return dns->frontend.substr(0, dns->frontend.find(':'));
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
  // Over both families: every Service has an IPv6 address, node ports answer on 2001:2::1.
  for (const std::string dp : {"xdp", "nft"}) {
    EXPECT_GT(std::count_if(rows.begin(), rows.end(),
                            [&](const LabRow& r) { return r.dataplane == dp && r.frontend.starts_with("[2001:2:1::"); }),
              0)
        << dp;
    EXPECT_GT(std::count_if(rows.begin(), rows.end(),
                            [&](const LabRow& r) { return r.dataplane == dp && r.frontend.ends_with("via 2001:2::1"); }),
              0)
        << dp;
  }
}

TEST_F(LabTest, NodeSocketsSeeTheFrontendAndRefusals) {
  const std::string vip = dns_vip();
  ASSERT_FALSE(vip.empty());

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
            static_cast<std::ptrdiff_t>(dataplane::xdp::kSocketHooks.size()));
}

TEST_F(LabTest, UpRefusesALabThatIsAlreadyUp) {
  EXPECT_THROW(lab_up(cfg_, config::DataplaneChoice::xdp), std::runtime_error);
  // ... and changed nothing: the lab still answers.
  const auto rows = lab_run(cfg_, {config::DataplaneChoice::xdp});
  EXPECT_TRUE(std::all_of(rows.begin(), rows.end(), [](const LabRow& r) { return r.ok; }));
}

// Client-side TCP connections that stay open, each asked "WHO" to learn its backend.
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class OpenFlows {
 public:
  // Connects one at a time and asks each connection "WHO" before opening the next: a burst of
  // 10,000 connects would overflow the test app's accept queue, and connections the server
  // has not accepted yet answer only after SYN-ACK retransmits (seconds).
  OpenFlows(const std::string& netns, const std::string& addr, std::uint16_t port, int count) {
    netlink::NetnsGuard in(netns);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, addr.c_str(), &to.sin_addr);
    const timeval tv{3, 0};
    for (int i = 0; i < count; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      fds_.push_back(fd);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) break;
      first_.push_back(ask(fd));
      ++connected_;
    }
  }
  ~OpenFlows() {
    for (int fd : fds_) close(fd);
  }
  OpenFlows(const OpenFlows&) = delete;
  OpenFlows& operator=(const OpenFlows&) = delete;

  int connected() const { return connected_; }
  // The sandbox each flow was on when it was opened ("" if it did not answer).
  const std::vector<std::string>& first_answers() const { return first_; }

  // One "WHO" per connection, all sent before any is read: the sandbox each flow is on now,
  // or "" for a flow that did not answer.
  std::vector<std::string> who() const {
    for (int i = 0; i < connected_; ++i) (void)send(fds_[i], "WHO\n", 4, MSG_NOSIGNAL);
    std::vector<std::string> out(static_cast<std::size_t>(connected_));
    for (int i = 0; i < connected_; ++i) out[static_cast<std::size_t>(i)] = read_answer(fds_[i]);
    return out;
  }

 private:
  static std::string ask(int fd) {
    if (send(fd, "WHO\n", 4, MSG_NOSIGNAL) != 4) return {};
    return read_answer(fd);
  }
  static std::string read_answer(int fd) {
    std::string line;
    char c;
    while (line.size() < 256 && recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
    WhoAnswer w;
    return parse_who(line, w) ? w.sandbox : std::string{};
  }

  std::vector<int> fds_;
  std::vector<std::string> first_;
  int connected_ = 0;
};

// A UDP stream, one datagram per millisecond from a connected socket, counting the distinct
// sequence numbers echoed back. An echo may arrive late (a verifier run competes for the CPU):
// late is not lost, so replies are collected as they come and drained for a second at the end.
class UdpStream {
 public:
  UdpStream(const std::string& netns, const std::string& addr, std::uint16_t port)
      : thread_([=, this] { run(netns, addr, port); }) {}
  ~UdpStream() { stop(); }
  UdpStream(const UdpStream&) = delete;
  UdpStream& operator=(const UdpStream&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long sent() const { return sent_; }
  long echoed() const { return echoed_; }

 private:
  void run(const std::string& netns, const std::string& addr, std::uint16_t port) {
    netlink::NetnsGuard in(netns);
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, addr.c_str(), &to.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      close(fd);
      return;
    }
    std::set<long> seen;
    auto collect = [&] {
      char buf[64];
      for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) {
        long seq = -1;
        if (std::sscanf(std::string(buf, static_cast<std::size_t>(n)).c_str(), "seq %ld", &seq) == 1) seen.insert(seq);
      }
      echoed_ = static_cast<long>(seen.size());
    };
    // Bounded: 60 s at most, whatever the test does.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (long seq = 0; !stop_ && std::chrono::steady_clock::now() < deadline; ++seq) {
      const std::string msg = "seq " + std::to_string(seq);
      if (send(fd, msg.data(), msg.size(), 0) == static_cast<ssize_t>(msg.size())) ++sent_;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      collect();
    }
    const auto drain = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (echoed_ < sent_ && std::chrono::steady_clock::now() < drain) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      collect();
    }
    close(fd);
  }

  std::atomic<bool> stop_{false};
  std::atomic<long> sent_{0}, echoed_{0};
  std::thread thread_;
};

// Restart under load (docs/testing.md "Bad input", faults): the daemon's role here is `portway
// sync`; it is SIGKILLed half way through a sync that also reloads the programs (an upgrade), then
// run again. The fast path keeps forwarding from its pins the whole time: no established flow moves
// or breaks, no datagram of a running stream is lost, and the second run converges.
TEST_F(LabTest, SyncKilledHalfWayAndRerunUnderLoadLosesNoFlow) {
  const Topology t = plan_topology({cfg_.prefix, 0});
  const std::string node = net::to_string(t.node_address);
  constexpr int kFlows = 10000;
  const OpenFlows flows(t.client_netns, node, 7000, kFlows);  // node port of tcp-echo
  ASSERT_EQ(flows.connected(), kFlows);
  const auto& before = flows.first_answers();
  ASSERT_EQ(std::count(before.begin(), before.end(), std::string{}), 0) << "every flow answers";
  UdpStream stream(t.client_netns, node, 27015);  // node port of game (UDP)

  std::vector<std::string> sync = sync_args();
  sync.insert(sync.begin(), PORTWAY_BINARY);
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  for (int round = 0; round < 3; ++round) {
    {
      // A different recorded fingerprint: the next sync loads and swaps in the programs.
      netlink::NetnsGuard in(t.node_netns);
      auto meta = dataplane::xdp::MetaMaps::open_existing({settings_.bpffs_dir});
      ASSERT_TRUE(meta);
      meta->set_program_fingerprint(1);
    }
    NsProcess killed = NsProcess::spawn(t.node_netns, sync, cli_log());
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 40)(rng)));
    killed.kill_hard();
    EXPECT_EQ(portway(sync_args()), 0) << slurp(cli_log());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  stream.stop();

  const auto after = flows.who();
  int moved = 0, broken = 0;
  for (std::size_t i = 0; i < after.size(); ++i) {
    if (after[i].empty()) ++broken;
    else if (after[i] != before[i]) ++moved;
  }
  EXPECT_EQ(broken, 0) << "of " << kFlows << " open TCP flows";
  EXPECT_EQ(moved, 0) << "of " << kFlows << " open TCP flows";
  EXPECT_GT(stream.sent(), 50);
  EXPECT_EQ(stream.echoed(), stream.sent()) << "UDP datagrams lost";

  // Converged: what the kernel holds is what the store says.
  netlink::NetnsGuard in(t.node_netns);
  auto store = store::SqliteStore::open(cfg_.dir + "/state.db", {.create = false});
  EXPECT_EQ(dataplane::xdp::XdpDataplane(settings_).installed(),
            agent::compile_store(store.get()));
}

// A sync that cannot load (here: node settings whose map sizes differ from the pinned maps,
// during an upgrade) fails, and leaves the fast path that was running exactly as it was.
TEST_F(LabTest, AFailedUpgradeLeavesTheRunningFastPathForwarding) {
  const Topology t = plan_topology({cfg_.prefix, 0});
  const std::string node = net::to_string(t.node_address);
  const OpenFlows flows(t.client_netns, node, 7000, 20);
  ASSERT_EQ(flows.connected(), 20);
  const auto& before = flows.first_answers();
  {
    netlink::NetnsGuard in(t.node_netns);
    auto meta = dataplane::xdp::MetaMaps::open_existing({settings_.bpffs_dir});
    ASSERT_TRUE(meta);
    meta->set_program_fingerprint(1);
  }
  const std::string bad = itest::node_file_with_other_map_sizes(cfg_);
  EXPECT_NE(portway(sync_args(bad)), 0);
  EXPECT_NE(slurp(cli_log()).find("does not match the map sizes"), std::string::npos) << slurp(cli_log());
  EXPECT_EQ(flows.who(), before) << "established flows keep their backends";
  const ProbeResult fresh = tcp_probe(t.client_netns, node, 7000);
  EXPECT_EQ(fresh.status, ProbeStatus::ok) << "new flows still balanced: " << fresh.error;
  netlink::NetnsGuard in(t.node_netns);
  EXPECT_TRUE(dataplane::xdp::XdpDataplane(settings_).is_installed());
}

// A backend removed while the node's own processes hold sockets the hooks pointed at it: they
// are ended (ECONNABORTED), as the packet path resets TCP and re-balances UDP, and a new
// socket is balanced over the backends that are left.
TEST_F(LabTest, NodeSocketsToARemovedBackendAreEndedAndRebalance) {
  const std::string vip = dns_vip();
  ASSERT_FALSE(vip.empty());
  const std::string node_netns = plan_topology({cfg_.prefix, 0}).node_netns;
  const std::string db = cfg_.dir + "/state.db";

  const ProbeResult r = probe_in_cgroup(settings_.cgroup, [&] {
    ProbeResult out;
    netlink::NetnsGuard in(node_netns);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(53);
    inet_pton(AF_INET, vip.c_str(), &to.sin_addr);
    auto open = [&](int type) {
      const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
      const timeval tv{2, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        close(fd);
        return -1;
      }
      return fd;
    };
    // "" and errno on failure.
    auto ask = [](int fd, int& err) {
      char buf[256];
      err = 0;
      if (send(fd, "WHO\n", 4, MSG_NOSIGNAL) != 4) {
        err = errno;
        return std::string{};
      }
      const ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
      if (n <= 0) {
        err = n < 0 ? errno : ECONNRESET;
        return std::string{};
      }
      WhoAnswer w;
      parse_who(std::string(buf, static_cast<std::size_t>(n)), w);
      return w.sandbox;
    };
    int err = 0;
    const int udp = open(SOCK_DGRAM);
    const std::string victim = ask(udp, err);
    // A TCP connection on the same backend (bounded: each lands there about half the time).
    int tcp = -1;
    for (int i = 0; i < 40 && tcp < 0; ++i) {
      const int fd = open(SOCK_STREAM);
      if (ask(fd, err) == victim) tcp = fd;
      else close(fd);
    }
    // The operator's way: deregister the sandbox, sync.
    const int rm = portway({"sandbox", "rm", "--state", db, victim});
    const int sync = portway(sync_args());
    int udp_err = 0, tcp_err = 0, again_err = 0;
    const std::string udp_after = ask(udp, udp_err);
    const std::string tcp_after = tcp >= 0 ? ask(tcp, tcp_err) : "no-tcp-on-victim";
    const int fresh = open(SOCK_DGRAM);
    const std::string again = ask(fresh, again_err);
    out.status = ProbeStatus::ok;
    out.reply = "victim=" + victim + " rm=" + std::to_string(rm) + " sync=" + std::to_string(sync) +
                " udp_after=" + udp_after + " udp_err=" + std::to_string(udp_err) + " tcp_after=" + tcp_after +
                " tcp_err=" + std::to_string(tcp_err) + " again=" + again;
    close(udp);
    close(fresh);
    if (tcp >= 0) close(tcp);
    return out;
  });
  ASSERT_EQ(r.status, ProbeStatus::ok) << r.error;
  const std::string& o = r.reply;
  EXPECT_NE(o.find("victim=dns-resolver-"), std::string::npos) << o;
  EXPECT_NE(o.find(" rm=0 sync=0 "), std::string::npos) << o << "\n" << slurp(cli_log());
  // An ended UDP socket is disconnected: its pending error is ECONNABORTED, and a send()
  // without an address fails with EDESTADDRREQ, whichever the application meets first.
  EXPECT_TRUE(o.find(" udp_after= udp_err=" + std::to_string(ECONNABORTED) + " ") != std::string::npos ||
              o.find(" udp_after= udp_err=" + std::to_string(EDESTADDRREQ) + " ") != std::string::npos)
      << o;
  EXPECT_NE(o.find(" tcp_after= tcp_err=" + std::to_string(ECONNABORTED) + " "), std::string::npos) << o;
  const std::string victim = o.substr(o.find("victim=") + 7, o.find(' ') - o.find("victim=") - 7);
  const std::string again = o.substr(o.find(" again=") + 7);
  EXPECT_TRUE(again.starts_with("dns-resolver-") && again != victim) << o;
}

// Node ports are kept out of the node's own ephemeral ports (agent/reserved_ports.h): the
// lab's claims are reserved in the node's namespace, and a released claim is unreserved,
// while a reservation portway did not make stays.
TEST_F(LabTest, NodePortsAreReservedFromTheNodesEphemeralPorts) {
  const std::string node_netns = plan_topology({cfg_.prefix, 0}).node_netns;
  auto reserved = [&] {
    netlink::NetnsGuard in(node_netns);
    return netlink::read_sysctl("net.ipv4.ip_local_reserved_ports");
  };
  // testdata/apps: dns 5353, irc 6697, tcp-echo 7000, game 27015.
  EXPECT_EQ(reserved(), "5353,6697,7000,27015");
  {
    netlink::NetnsGuard in(node_netns);
    netlink::write_sysctl("net.ipv4.ip_local_reserved_ports", "5353,6697,7000,27015,40000\n");
  }
  const std::string db = cfg_.dir + "/state.db";
  ASSERT_EQ(portway({"delete", "--state", db, "dns"}), 0) << slurp(cli_log());
  ASSERT_EQ(portway(sync_args()), 0) << slurp(cli_log());
  EXPECT_EQ(reserved(), "6697,7000,27015,40000") << "5353 released, the administrator's 40000 kept";
}

}  // namespace
}  // namespace portway::lab
