// Switching the dataplane of a running node (docs/operations.md "Switching the dataplane"),
// through `portway sync --dataplane xdp|nft` on a `portway lab`: established TCP connections
// (client -> service address, client -> node port, sandbox -> service address, a sandbox to its
// own service) carry traffic all the time and must survive every switch on the sandbox that
// first answered them; and `sync` SIGKILLed at random moments of switches never leaves the node
// without a dataplane, while new connections are probed all along.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "agent/sync.h"
#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/meta_maps.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "flow_load.h"
#include "lab/lab.h"
#include "lab/ns_process.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "netlink/netns.h"
#include "store/sqlite_store.h"
#include "lab_test_config.h"
#include "support/root.h"

namespace portway::itest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class DataplaneSwitchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    // Hundreds of connections: both ends (this process and the test apps it starts) need
    // more descriptors than the usual soft limit of 1,024.
    rlimit nofile{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 16384);
    setrlimit(RLIMIT_NOFILE, &nofile);
    cfg_ = itest::lab_test_config("pwsw", "switchtest");
    lab::lab_down(cfg_);  // a crashed earlier run of this pid's prefix
    settings_ = lab::lab_node_settings(cfg_);
    ASSERT_FALSE(settings_.cgroup.empty()) << "no cgroup v2 hierarchy mounted on this machine";
    up_ = true;
    lab::lab_up(cfg_, config::DataplaneChoice::xdp);
    topo_ = lab::plan_topology({cfg_.prefix, 10});
    auto store = store::SqliteStore::open(cfg_.dir + "/state.db", {.create = false});
    desired_ = agent::compile_store(store.get());
    // IPv4 frontends: the flow loads speak IPv4 (the lab's Services are dual-stack).
    for (const auto& f : desired_.frontends())
      if (!std::holds_alternative<net::Ipv4>(f.key.address)) continue;
      else if (f.backend_set == "svc/tcp-echo/echo" && f.key.port == 7000) vip_ = state::to_string(f.key.address);
      else if (f.backend_set == "svc/irc/irc" && f.key.port == 6667) irc_vip_ = state::to_string(f.key.address);
    for (const auto& sb : store->begin_read()->sandboxes())
      for (const auto& slot : topo_.sandboxes)
        if (slot.address == sb.ipv4) (sb.app == "tcp-echo" ? echo_sandbox_ : other_sandbox_) = slot.netns;
    ASSERT_FALSE(vip_.empty());
    ASSERT_FALSE(irc_vip_.empty());
    ASSERT_FALSE(echo_sandbox_.empty());
    ASSERT_FALSE(other_sandbox_.empty());
  }

  void TearDown() override {
    if (!up_) return;
    lab::lab_down(cfg_);
    EXPECT_FALSE(fs::exists(settings_.bpffs_dir)) << "pins left behind";
  }

  std::vector<std::string> sync_argv(const char* dataplane) const {
    return {PORTWAY_BINARY, "sync", "--state", cfg_.dir + "/state.db", "--node", cfg_.dir + "/node.toml",
            "--dataplane", dataplane};
  }
  // `portway sync --dataplane X` on the lab node; its exit status (-1 after 30 s).
  int sync(const char* dataplane) {
    lab::NsProcess p = lab::NsProcess::spawn(topo_.node_netns, sync_argv(dataplane), cli_log());
    return p.wait_exit(std::chrono::seconds(30)).value_or(-1);
  }
  std::string cli_log() const { return cfg_.dir + "/cli.log"; }

  std::vector<FlowGroup> groups(int scale) const {
    const std::string node = net::to_string(topo_.node_address);
    return {{"client->service", topo_.client_netns, vip_, 7000, 20 * scale},
            {"client->node-port", topo_.client_netns, node, 7000, 20 * scale},
            {"sandbox->service", other_sandbox_, vip_, 7000, 15 * scale},
            {"sandbox->own-service", echo_sandbox_, vip_, 7000, 5 * scale}};
  }

  // The node holds exactly one dataplane, `kind`, programmed with the store's state.
  void expect_only(dataplane::Kind kind) {
    netlink::NetnsGuard in(topo_.node_netns);
    dataplane::nft::NftDataplane nft(settings_);
    dataplane::xdp::XdpDataplane xdp(settings_);
    if (kind == dataplane::Kind::xdp) {
      EXPECT_TRUE(xdp.is_running());
      EXPECT_FALSE(nft.is_installed()) << "both dataplanes installed";
      EXPECT_EQ(xdp.installed(), desired_);
    } else {
      EXPECT_TRUE(nft.is_installed());
      EXPECT_FALSE(xdp.is_installed()) << "both dataplanes installed";
      EXPECT_EQ(nft.installed().frontends().size(), desired_.frontends().size());
    }
  }

  lab::LabConfig cfg_;
  config::NodeSettings settings_;
  lab::Topology topo_;
  state::DataplaneState desired_;
  std::string vip_, irc_vip_, echo_sandbox_, other_sandbox_;
  bool up_ = false;
};

void report(const std::vector<std::pair<std::string, FlowFigures>>& figures) {
  for (const auto& [name, f] : figures) {
    std::cout << "  " << name << ": " << f.to_string() << "\n";
    EXPECT_EQ(f.reset, 0) << name;
    EXPECT_EQ(f.moved, 0) << name;
    EXPECT_EQ(f.silent_at_end, 0) << name << ": silent " << ::testing::PrintToString(f.silent);
    EXPECT_LT(f.longest_wait_ms, 2000) << name << ": a connection hung";
    EXPECT_GT(f.exchanges, f.opened) << name << ": traffic flowed";
  }
}

// A UDP flow: one connected socket asking WHO every 20 ms; every answer names a sandbox.
class UdpWho {
 public:
  UdpWho(const std::string& netns, const std::string& addr, std::uint16_t port)
      : thread_([=, this] {
          netlink::NetnsGuard in(netns);
          const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
          sockaddr_in to{};
          to.sin_family = AF_INET;
          to.sin_port = htons(port);
          inet_pton(AF_INET, addr.c_str(), &to.sin_addr);
          const timeval tv{0, 200000};
          setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
          if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
            close(fd);
            return;
          }
          const auto deadline = Clock::now() + std::chrono::seconds(90);
          while (!stop_ && Clock::now() < deadline) {
            if (send(fd, "WHO", 3, 0) == 3) ++sent_;
            char buf[256];
            const ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
            lab::WhoAnswer who;
            if (n > 0 && lab::parse_who(std::string(buf, static_cast<std::size_t>(n)), who)) {
              ++answered_;
              std::lock_guard lock(mu_);
              sandboxes_.insert(who.sandbox);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
          close(fd);
        }) {}
  ~UdpWho() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long sent() const { return sent_; }
  long answered() const { return answered_; }
  std::size_t sandboxes() {
    std::lock_guard lock(mu_);
    return sandboxes_.size();
  }

 private:
  std::mutex mu_;
  std::set<std::string> sandboxes_;
  std::atomic<bool> stop_{false};
  std::atomic<long> sent_{0}, answered_{0};
  std::thread thread_;
};

// Frames the interfaces of namespace `netns` dropped on transmit: the sum of /proc/net/dev's
// transmit "drop" column, read from inside it (sysfs would show the test's own namespace).
std::uint64_t transmit_drops_in(const std::string& netns) {
  netlink::NetnsGuard in(netns);
  std::ifstream dev("/proc/thread-self/net/dev");
  std::string line;
  std::uint64_t drops = 0;
  for (int header = 0; header < 2 && std::getline(dev, line); ++header) {
  }
  while (std::getline(dev, line)) {
    std::istringstream fields(line.substr(line.find(':') + 1));
    std::uint64_t v = 0;
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop
    for (int i = 0; i < 12 && (fields >> v); ++i) {
    }
    drops += v;
  }
  return drops;
}

TEST_F(DataplaneSwitchTest, SwitchesUnderLoadResetNoConnection) {
  FlowLoad load(groups(15));
  for (const auto& g : groups(15)) ASSERT_EQ(load.opened(g.name), g.count) << g.name;
  load.start();
  UdpWho udp(topo_.client_netns, net::to_string(topo_.node_address), 27015);  // node port of game
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::uint64_t drops_before = transmit_drops_in(topo_.node_netns);
  for (int round = 0; round < 3; ++round) {
    for (const char* dp : {"nft", "xdp"}) {
      const auto t0 = Clock::now();
      ASSERT_EQ(sync(dp), 0) << slurp(cli_log());
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      // Which switch a reset follows, for when one does.
      std::cout << "  switch to " << dp << ": " << took << " ms; connections reset so far: " << load.resets() << "\n";
    }
  }
  const std::uint64_t drops_during = transmit_drops_in(topo_.node_netns) - drops_before;
  udp.stop();
  report(load.stop());
  // Taking a clsact qdisc off an interface that is up stops its transmit queue for a moment,
  // and what it sends meanwhile is dropped: 16-139 frames per run, and a TCP retransmission
  // (about 210 ms) for the connections they belonged to, before a switch kept the qdiscs.
  EXPECT_EQ(drops_during, 0u) << "frames the node's interfaces dropped on transmit during the switches";
  std::cout << "  client->node-port udp: " << udp.sent() << " datagrams, " << udp.answered() << " answered by "
            << udp.sandboxes() << " sandbox(es)\n";
  EXPECT_EQ(udp.sandboxes(), 1u) << "the UDP flow stays on its backend";
  // A datagram in flight when XDP comes off or onto the uplink can be lost: the veth driver
  // frees the frames in its XDP ring when XDP is detached (a NIC driver reconfigures its
  // rings likewise). At most one per switch; the TCP connections retransmit theirs.
  EXPECT_LE(udp.sent() - udp.answered(), 6) << "datagrams lost";
  expect_only(dataplane::Kind::xdp);
  std::cout << slurp(cli_log());
}

// The TCP entries of this namespace's conntrack table translated from `port` (their original
// destination port): (all of them, those with window tracking liberal in both directions).
std::pair<int, int> liberal_tcp_entries_to(std::uint16_t port) {
  struct Count {
    std::uint16_t port;
    int all = 0, liberal = 0;
  } count{port};
  nfct_handle* h = nfct_open(CONNTRACK, 0);
  if (!h) return {-1, -1};
  nfct_callback_register(
      h, NFCT_T_ALL,
      [](enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) -> int {
        auto* c = static_cast<Count*>(data);
        constexpr std::uint8_t kBeLiberal = 0x08;  // IP_CT_TCP_FLAG_BE_LIBERAL
        if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_TCP ||
            nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST) != htons(c->port) ||
            !(nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT))
          return NFCT_CB_CONTINUE;
        ++c->all;
        c->liberal += (nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_ORIG) & kBeLiberal) &&
                      (nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_REPL) & kBeLiberal);
        return NFCT_CB_CONTINUE;
      },
      &count);
  std::uint32_t family = AF_INET;
  nfct_query(h, NFCT_Q_DUMP, &family);
  nfct_close(h);
  return {count.all, count.liberal};
}

// Connections nftables placed survive the fast path taking over, on the backend nftables
// picked (at random, docs/nftables.md "Backend choice"):
// - the carried flows record their frontend's current gen, so the program uses them as they
//   are instead of taking them for flows of a former frontend and picking again by Maglev,
//   which moves about half of them to the other replica;
// - their conntrack entries are made liberal before the sandbox interfaces get the tc program:
//   from then on replies bypass conntrack, a strict entry calls the client's next
//   acknowledgement invalid, and nftables leaves an invalid packet untranslated; to a node port
//   it reaches the node's own stack, which resets the connection.
TEST_F(DataplaneSwitchTest, ConnectionsNftablesPlacedKeepTheirBackendOnTheFastPath) {
  ASSERT_EQ(sync("nft"), 0) << slurp(cli_log());
  const std::string node = net::to_string(topo_.node_address);
  const std::vector<FlowGroup> placed{{"client->service", topo_.client_netns, vip_, 7000, 40},
                                      {"client->node-port", topo_.client_netns, node, 7000, 80}};
  FlowLoad load(placed);
  for (const auto& g : placed) ASSERT_EQ(load.opened(g.name), g.count) << g.name;
  load.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(sync("xdp"), 0) << slurp(cli_log());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  report(load.stop());
  expect_only(dataplane::Kind::xdp);
  std::cout << slurp(cli_log());
  netlink::NetnsGuard in(topo_.node_netns);
  auto pinned = dataplane::xdp::PinnedLbMaps::open({settings_.bpffs_dir});
  ASSERT_TRUE(pinned);
  EXPECT_EQ(loader::LbMaps(pinned->fds()).all_events()[PW_EV_FLOW_STALE_FRONTEND], 0u)
      << "carried flows were taken for flows of a former frontend";
  // Whether or not this run's timing let an acknowledgement through nftables between the two
  // attachments, every carried entry must have been loosened (entries outlive the table).
  const auto [entries, liberal] = liberal_tcp_entries_to(7000);
  EXPECT_EQ(entries, 120) << "conntrack entries of the carried connections";
  EXPECT_EQ(liberal, entries) << "carried entries left with strict window tracking";
}

// IPv6 connections (client -> IPv6 service address, client -> node port on the node's IPv6
// address, sandbox -> IPv6 service address) held open across switches both ways: the hand-off
// carries pw_flows6 into conntrack and conntrack's IPv6 translations back into pw_flows6 and
// pw_reverse6, so none is reset or moved to the other replica.
TEST_F(DataplaneSwitchTest, Ipv6ConnectionsSurviveSwitchesBothWays) {
  std::string vip6;
  for (const auto& f : desired_.frontends())
    if (std::holds_alternative<net::Ipv6>(f.key.address) && f.backend_set == "svc/tcp-echo/echo" &&
        f.key.port == 7000)
      vip6 = state::to_string(f.key.address);
  ASSERT_FALSE(vip6.empty()) << "the lab's tcp-echo Service has no IPv6 address";
  const std::string node6 = net::to_string(topo_.node_address6);
  const std::vector<FlowGroup> groups6{{"client->service6", topo_.client_netns, vip6, 7000, 40},
                                       {"client->node-port6", topo_.client_netns, node6, 7000, 40},
                                       {"sandbox->service6", other_sandbox_, vip6, 7000, 20}};
  FlowLoad load(groups6);
  for (const auto& g : groups6) ASSERT_EQ(load.opened(g.name), g.count) << g.name;
  load.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int round = 0; round < 2; ++round) {
    for (const char* dp : {"nft", "xdp"}) {
      ASSERT_EQ(sync(dp), 0) << slurp(cli_log());
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }
  report(load.stop());
  expect_only(dataplane::Kind::xdp);
  std::cout << slurp(cli_log());
}

// The flow table keeps closed flows; when one has the same reply tuple as a live connection
// (the client reused the port towards the node port of the same backend), conntrack can hold
// only one of them: the switch keeps the live one, the most recently active.
TEST_F(DataplaneSwitchTest, AClosedFlowWithTheSameReplyTupleDoesNotDisplaceALiveOne) {
  FlowLoad load({{"client->service", topo_.client_netns, vip_, 7000, 20}});
  ASSERT_EQ(load.opened("client->service"), 20);
  {
    netlink::NetnsGuard in(topo_.node_netns);
    auto pinned = dataplane::xdp::PinnedLbMaps::open({settings_.bpffs_dir});
    ASSERT_TRUE(pinned);
    loader::LbMaps maps(pinned->fds());
    pw_frontend_key np{};
    np.port = htons(7000);
    np.proto = IPPROTO_TCP;
    np.kind = PW_FRONTEND_NODE_PORT;
    const auto node_port = maps.frontend(np);
    ASSERT_TRUE(node_port);
    std::vector<std::pair<pw_flow_key, pw_flow>> live, closed;
    for (auto [k, f] : maps.flows()) {
      if (k.daddr != htonl(net::parse_ipv4(vip_)->value)) continue;
      live.emplace_back(k, f);
      k.daddr = htonl(topo_.node_address.value);  // the same client port, to the node port
      f.frontend_id = node_port->id;
      f.last_seen_ns -= 10'000'000'000ull;  // silent for 10 s
      closed.emplace_back(k, f);
    }
    ASSERT_EQ(closed.size(), 20u);
    // As if the closed flows came first: their reverse entries were overwritten by the live
    // ones' (one reverse entry per reply tuple in the fast path too).
    maps.upsert_flows(closed);
    maps.upsert_flows(live);
  }
  load.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(sync("nft"), 0) << slurp(cli_log());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  report(load.stop());
  EXPECT_NE(slurp(cli_log()).find("superseded"), std::string::npos) << slurp(cli_log());
}

// auto on a node whose fast path runs: a refresh that fails (here an upgrade whose maps no
// longer fit the settings) keeps the fast path and its flows, says why and exits non-zero;
// it never falls back to nftables by itself.
TEST_F(DataplaneSwitchTest, AutoKeepsARunningFastPathWhoseRefreshFails) {
  FlowLoad load(groups(1));
  load.start();
  {
    netlink::NetnsGuard in(topo_.node_netns);
    auto meta = dataplane::xdp::MetaMaps::open_existing({settings_.bpffs_dir});
    ASSERT_TRUE(meta);
    meta->set_program_fingerprint(1);  // the next sync loads the programs again
  }
  const std::string bad = itest::node_file_with_other_map_sizes(cfg_);
  std::vector<std::string> argv = sync_argv("auto");
  argv[5] = bad;  // --node
  std::ofstream(cli_log(), std::ios::trunc).close();
  lab::NsProcess p = lab::NsProcess::spawn(topo_.node_netns, argv, cli_log());
  EXPECT_EQ(p.wait_exit(std::chrono::seconds(30)).value_or(-1), 2) << slurp(cli_log());
  EXPECT_NE(slurp(cli_log()).find("running fast path was kept"), std::string::npos) << slurp(cli_log());
  report(load.stop());
  netlink::NetnsGuard in(topo_.node_netns);
  EXPECT_TRUE(dataplane::xdp::XdpDataplane(settings_).is_running());
  EXPECT_FALSE(dataplane::nft::NftDataplane(settings_).is_installed()) << "auto fell back to nftables";
}

// New connections, one every few milliseconds from the client to the node port and to the
// service address, each asked WHO: any that is refused, reset or unanswered is a moment
// without a dataplane.
class NewConnectionProbe {
 public:
  NewConnectionProbe(std::string netns, std::vector<std::pair<std::string, std::uint16_t>> targets)
      : thread_([this, netns = std::move(netns), targets = std::move(targets)] {
          const auto deadline = Clock::now() + std::chrono::seconds(120);
          for (std::size_t i = 0; !stop_ && Clock::now() < deadline; ++i) {
            const auto& [addr, port] = targets[i % targets.size()];
            const auto r = lab::tcp_probe(netns, addr, port, "WHO\n", std::chrono::milliseconds(1500));
            ++probes_;
            // Connected, then reset: the handshake straddled the moment the uplinks changed
            // hands and the two dataplanes picked different backends (see docs/operations.md).
            // Anything else (refused, unanswered) is a moment without a dataplane.
            const bool handover = r.status == lab::ProbeStatus::other_error && r.error == std::strerror(ECONNRESET);
            if (handover) ++handover_resets_;
            if (r.status != lab::ProbeStatus::ok) {
              if (!handover) ++failed_;
              std::lock_guard lock(mu_);
              failures_.push_back(std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     Clock::now() - started_).count()) +
                                  " ms: " + addr + ":" + std::to_string(port) + " " + lab::to_string(r.status) +
                                  " (" + r.error + ")");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }) {}
  ~NewConnectionProbe() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long probes() const { return probes_; }
  long failed() const { return failed_; }
  long handover_resets() const { return handover_resets_; }
  std::vector<std::string> failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }
  Clock::time_point started() const { return started_; }

 private:
  const Clock::time_point started_ = Clock::now();
  std::mutex mu_;
  std::vector<std::string> failures_;
  std::atomic<bool> stop_{false};
  std::atomic<long> probes_{0}, failed_{0}, handover_resets_{0};
  std::thread thread_;
};

TEST_F(DataplaneSwitchTest, KilledSwitchesNeverLeaveTheNodeWithoutADataplane) {
  FlowLoad load(groups(5));
  load.start();
  // Probes go to another Service than the load (irc: node port 6697, service port 6667), so
  // their source ports never collide with the load's towards the same backend port.
  NewConnectionProbe probe(topo_.client_netns, {{net::to_string(topo_.node_address), 6697}, {irc_vip_, 6667}});

  // How long a whole switch takes here, each way: the kills land anywhere inside one.
  auto timed = [&](const char* dp) {
    const auto t0 = Clock::now();
    EXPECT_EQ(sync(dp), 0) << slurp(cli_log());
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  };
  const long to_nft = timed("nft"), to_xdp = timed("xdp");
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  constexpr int kKills = 16;
  int killed_running = 0, left_without_dataplane = 0;
  const std::string node = net::to_string(topo_.node_address);
  for (int i = 0; i < kKills; ++i) {
    // From xdp to nft, then back: every kill interrupts a real switch.
    const bool nft = i % 2 == 0;
    const char* dp = nft ? "nft" : "xdp";
    const int resets_at_start = load.resets();
    const auto since = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - probe.started()).count();
    };

    lab::NsProcess p = lab::NsProcess::spawn(topo_.node_netns, sync_argv(dp), cli_log());
    const long at = std::uniform_int_distribution<long>(0, (nft ? to_nft : to_xdp) * 9 / 10)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(at));
    if (p.running()) ++killed_running;
    p.kill_hard();
    // What the kill left must forward by itself, until the next sync.
    const bool forwarding =
        lab::tcp_probe(topo_.client_netns, node, 6697, "WHO\n", std::chrono::milliseconds(1000)).status ==
            lab::ProbeStatus::ok &&
        lab::tcp_probe(topo_.client_netns, irc_vip_, 6667, "WHO\n", std::chrono::milliseconds(1000)).status ==
            lab::ProbeStatus::ok;
    if (!forwarding) ++left_without_dataplane;
    const int resets_before = load.resets();
    // The next sync finishes the job.
    std::ofstream(cli_log(), std::ios::trunc).close();
    EXPECT_EQ(sync(dp), 0) << slurp(cli_log());
    expect_only(nft ? dataplane::Kind::nft : dataplane::Kind::xdp);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (load.resets() > resets_at_start || !forwarding)
      std::cout << "  kill " << i << " (to " << dp << ", " << at << " ms in, at " << since() << " ms): "
                << (forwarding ? "" : "no dataplane, ")
                << resets_before - resets_at_start << " connections reset by the kill, "
                << load.resets() - resets_before << " by the rerun\n" << slurp(cli_log());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  probe.stop();
  std::cout << "  a switch takes " << to_nft << " ms to nft, " << to_xdp << " ms to xdp; " << kKills << " kills, " << killed_running
            << " while sync was running, " << left_without_dataplane << " left no forwarding dataplane; "
            << probe.probes() << " new connections probed, " << probe.failed() << " failed, "
            << probe.handover_resets() << " reset at the hand-over\n";
  // A sync's duration varies with the machine's load: most kills land inside one, never all.
  EXPECT_GE(killed_running, kKills / 4) << "the kills must land inside switches";
  EXPECT_EQ(left_without_dataplane, 0) << "of " << kKills << " kills";
  EXPECT_EQ(probe.failed(), 0) << "of " << probe.probes() << " new connections";
  EXPECT_LE(probe.handover_resets() * 100, probe.probes()) << "at most 1% of new connections straddle a hand-over";
  for (const auto& f : probe.failures()) std::cout << "  failed probe at " << f << "\n";
  report(load.stop());
}

}  // namespace
}  // namespace portway::itest
