// Hitless restarts and upgrades of the node daemon (docs/operations.md, docs/testing.md "Fault
// suite"): on a `portway lab` node carrying 10,000 open TCP connections with traffic on each
// and a UDP stream with sequence numbers, the daemon is SIGKILLed at random moments (while it
// starts, while it programs a store change a writer just committed, while it idles) and
// started again; replaced by a build whose BPF programs differ; stopped with SIGTERM. The fast
// path (or the nft table) forwards without the process: no connection is lost, and no
// datagram either.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <mutex>
#include <random>
#include <thread>

#include "agent/sync.h"
#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "flow_load.h"
#include "lab/lab.h"
#include "lab/node_file_writer.h"
#include "lab/ns_process.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "lab_test_config.h"
#include "loader/cgroup_link.h"
#include "loader/prog_info.h"
#include "loader/tc_filter.h"
#include "loader/unique_fd.h"
#include "loader/xdp_link.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "portway_process.h"
#include "state/diff.h"
#include "store/sqlite_store.h"
#include "support/root.h"
#include "udp_stream.h"

namespace portway::itest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kFlows = 10'000;

long ms_since(Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t).count());
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The socket a daemon reports READY=1 on (sd_notify's protocol: datagrams of KEY=VALUE
// lines to the unix socket named by $NOTIFY_SOCKET), owned by the test.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    unlink(path_.c_str());
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot bind the notify socket " + path_);
  }
  ~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  const std::string& path() const { return path_; }
  // Forgets what earlier processes sent.
  void drain() {
    char buf[4096];
    while (recv(fd_, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
  }
  // True once a datagram with READY=1 arrived, false after `timeout` (0: only what is there
  // now) or when `alive` says the process is gone.
  bool wait_ready(milliseconds timeout, const std::function<bool()>& alive) {
    const auto until = Clock::now() + timeout;
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        if (std::string_view(buf, static_cast<std::size_t>(n)).find("READY=1") != std::string_view::npos) return true;
        continue;
      }
      if (Clock::now() >= until || !alive()) return false;
      std::this_thread::sleep_for(milliseconds(2));
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// Store changes committed all the time by another writer (the CLI on the same state file),
// none of them touching the Services the load uses: an app of its own applied and deleted,
// a sandbox of its own added, drained, stopped and removed. Every commit is something the
// daemon programs, so kills land in the middle of programming too.
class StoreWriter {
 public:
  StoreWriter(std::string binary, std::string state, std::string dir)
      : binary_(std::move(binary)), state_(std::move(state)), node_(dir + "/node.toml"),
        app_file_(dir + "/hitless-extra.toml") {
    std::ofstream(app_file_) << "name = \"hitless-extra\"\n\n[services.extra]\ncommand = \"./extra\"\n\n"
                                "[[services.extra.ports]]\nport = 8100\nname = \"extra\"\ntype = \"tcp\"\n";
    thread_ = std::thread([this] { run(); });
  }
  ~StoreWriter() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long commits() const { return commits_; }
  long failures() const { return failures_; }
  std::string last_failure() {
    std::lock_guard lock(mu_);
    return last_failure_;
  }

 private:
  void portway(std::vector<std::string> args) {
    args.insert(args.begin() + (args[0] == "sandbox" ? 2 : 1), {"--state", state_});
    const PortwayResult r = run_portway(binary_, {.args = args, .env = {"PATH=/usr/bin:/bin"}, .timeout = milliseconds(20000)});
    if (r.ok()) {
      ++commits_;
      return;
    }
    ++failures_;
    std::lock_guard lock(mu_);
    last_failure_ = args[0] + ": " + r.describe();
  }
  void run() {
    const auto deadline = Clock::now() + std::chrono::seconds(110);
    while (!stop_ && Clock::now() < deadline) {
      portway({"apply", "--node", node_, app_file_});
      portway({"sandbox", "add", "--app", "hitless-extra", "--service", "extra", "--ip", "198.18.200.2",
               "--label", "round=" + std::to_string(round_++), "--id", "hitless-extra-0"});
      portway({"sandbox", "set", "hitless-extra-0", "--to", "draining"});
      portway({"sandbox", "set", "hitless-extra-0", "--to", "stopped"});
      portway({"sandbox", "rm", "hitless-extra-0"});
      portway({"delete", "hitless-extra"});
    }
  }
  std::string binary_, state_, node_, app_file_;
  long round_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<long> commits_{0}, failures_{0};
  std::mutex mu_;
  std::string last_failure_;
  std::thread thread_;
};

// What is attached where, by program: to tell an upgrade happened.
struct AttachedPrograms {
  loader::ProgramInfo uplink_xdp, sandbox_tc, uplink_tc, connect4;
  std::string tags() const {
    return "XDP " + uplink_xdp.tag + ", sandbox tc " + sandbox_tc.tag + ", uplink tc " + uplink_tc.tag + ", connect4 " +
           connect4.tag;
  }
};

// Every attachment runs another program than in `old`, with other instructions.
void expect_replaced(const AttachedPrograms& now, const AttachedPrograms& old, const std::string& what) {
  const std::pair<const loader::ProgramInfo*, const loader::ProgramInfo*> pairs[] = {
      {&now.uplink_xdp, &old.uplink_xdp}, {&now.sandbox_tc, &old.sandbox_tc},
      {&now.uplink_tc, &old.uplink_tc}, {&now.connect4, &old.connect4}};
  for (const auto& [n, o] : pairs) {
    EXPECT_NE(n->id, 0u) << what << ": " << o->name << " not attached";
    EXPECT_NE(n->id, o->id) << what << ": " << o->name << " was not replaced";
    EXPECT_NE(n->tag, o->tag) << what << ": " << o->name << " has the same instructions";
  }
}

loader::ProgramInfo program_by_id(std::uint32_t id) {
  loader::UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd) return {};
  return loader::program_info(fd.get());
}

class DaemonHitlessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    // 10,000 connections end here, and half of them in each of the two echo sandboxes' test
    // apps, which inherit the limit.
    ASSERT_GE(raise_fd_limit(kFlows + 4096), static_cast<rlim_t>(kFlows + 1024))
        << "the hard RLIMIT_NOFILE is too low for " << kFlows << " connections";
    cfg_ = itest::lab_test_config("pwhl", "hitlesstest");
    lab::lab_down(cfg_);  // a crashed earlier run of this pid's prefix
    settings_ = lab::lab_node_settings(cfg_);
    ASSERT_FALSE(settings_.cgroup.empty()) << "no cgroup v2 hierarchy mounted on this machine";
  }

  void lab_up(config::DataplaneChoice choice) {
    up_ = true;
    lab::lab_up(cfg_, choice);
    topo_ = lab::plan_topology({cfg_.prefix, 10});
    // The node file names the dataplane the lab runs: the daemon keeps it (auto would take
    // the fast path where the kernel has it).
    config::NodeSettings settings = lab::lab_node_settings(cfg_);
    settings.dataplane = choice;
    lab::write_node_file(cfg_.dir + "/node.toml", settings);
    // The daemons this test starts report to a socket of the test's (sd_notify).
    notify_ = std::make_unique<NotifySocket>(cfg_.dir + "/notify.sock");
    setenv("NOTIFY_SOCKET", notify_->path().c_str(), 1);
    auto store = store::SqliteStore::open(state(), {.create = false});
    const state::DataplaneState desired = agent::compile_store(store.get());
    // The IPv4 frontend: the flow loads speak IPv4 (the lab's Services are dual-stack).
    for (const auto& f : desired.frontends())
      if (f.backend_set == "svc/tcp-echo/echo" && f.key.port == 7000 && std::holds_alternative<net::Ipv4>(f.key.address))
        vip_ = state::to_string(f.key.address);
    ASSERT_FALSE(vip_.empty());
  }

  void TearDown() override {
    daemon_.reset();
    unsetenv("NOTIFY_SOCKET");
    notify_.reset();
    if (!up_) return;
    lab::lab_down(cfg_);
    EXPECT_FALSE(fs::exists(settings_.bpffs_dir)) << "pins left behind";
  }

  std::string state() const { return cfg_.dir + "/state.db"; }
  std::string log() const { return cfg_.dir + "/daemon.log"; }
  std::string node() const { return net::to_string(topo_.node_address); }

  // 10,000 connections from the client, half to the echo Service's address, half to its
  // node port: every one answered by the sandbox that first did, all the time.
  std::vector<FlowGroup> groups() const {
    return {{"client->service", topo_.client_netns, vip_, 7000, kFlows / 2},
            {"client->node-port", topo_.client_netns, node(), 7000, kFlows / 2}};
  }

  // Starts `portway daemon` (or another build's) on the lab node.
  void start_daemon(const std::string& binary = PORTWAY_BINARY) {
    notify_->drain();
    daemon_ = std::make_unique<lab::NsProcess>(lab::NsProcess::spawn(
        topo_.node_netns, {binary, "daemon", "--state", state(), "--node", cfg_.dir + "/node.toml"}, log()));
  }
  // Waits for the running daemon's READY=1 (its first programming succeeded).
  bool wait_ready(milliseconds timeout = milliseconds(30000)) {
    return notify_->wait_ready(timeout, [this] { return daemon_ && daemon_->running(); });
  }

  // The node's dataplane is the store's (the daemon caught up with every commit).
  bool programmed_as_store(dataplane::Kind kind) {
    auto store = store::SqliteStore::open(state(), {.create = false});
    const state::DataplaneState desired = agent::compile_store(store.get());
    netlink::NetnsGuard in(topo_.node_netns);
    if (kind == dataplane::Kind::xdp) return dataplane::xdp::XdpDataplane(settings_).installed() == desired;
    dataplane::nft::NftDataplane nft(settings_);
    nft.learn_names(desired);
    return state::diff(nft.installed(), desired).empty();
  }
  bool eventually_programmed_as_store(dataplane::Kind kind, milliseconds timeout = milliseconds(15000)) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (programmed_as_store(kind)) return true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }

  AttachedPrograms attached_programs() {
    netlink::NetnsGuard in(topo_.node_netns);
    AttachedPrograms out;
    loader::UniqueFd link = loader::open_pinned(dataplane::xdp::PinLayout{settings_.bpffs_dir}.xdp_link(topo_.uplink));
    if (link) out.uplink_xdp = program_by_id(loader::xdp_link_info(link.get()).prog_id);
    const unsigned sb0 = netlink::ifindex_of(topo_.sandboxes.at(0).host_link);
    if (sb0) out.sandbox_tc = program_by_id(loader::tc_program_id(static_cast<int>(sb0), loader::TcDirection::ingress));
    const unsigned up = netlink::ifindex_of(topo_.uplink);
    if (up) out.uplink_tc = program_by_id(loader::tc_program_id(static_cast<int>(up), loader::TcDirection::ingress));
    loader::UniqueFd hook = loader::open_pinned(dataplane::xdp::PinLayout{settings_.bpffs_dir}.cgroup_link("connect4"));
    if (hook) out.connect4 = program_by_id(loader::cgroup_link_info(hook.get()).prog_id);
    return out;
  }

  // New connections and datagrams to the frontends the load uses are answered.
  bool new_flows_answered() {
    return lab::tcp_probe(topo_.client_netns, vip_, 7000, "WHO\n", milliseconds(1000)).status == lab::ProbeStatus::ok &&
           lab::tcp_probe(topo_.client_netns, node(), 7000, "WHO\n", milliseconds(1000)).status == lab::ProbeStatus::ok &&
           lab::udp_probe(topo_.client_netns, node(), 27015, "WHO", milliseconds(1000)).status == lab::ProbeStatus::ok;
  }

  // The kill-restart run: `kills` SIGKILLs at random moments while a writer commits store
  // changes, each followed by a restart; then the last daemon must have caught up.
  void kill_restart_under_load(config::DataplaneChoice choice, dataplane::Kind kind, int kills);
  // The drops outside the node from now on: the client's receive ring behind the uplink, and
  // the receive buffers of the client and every sandbox (udp_stream.h).
  OutsideDrops outside_drops() const {
    std::vector<std::string> receivers{topo_.client_netns};
    for (const auto& sb : topo_.sandboxes) receivers.push_back(sb.netns);
    return OutsideDrops(topo_.node_netns, topo_.uplink, receivers);
  }

  lab::LabConfig cfg_;
  config::NodeSettings settings_;
  lab::Topology topo_;
  std::string vip_;
  std::unique_ptr<NotifySocket> notify_;
  std::unique_ptr<lab::NsProcess> daemon_;
  bool up_ = false;
};

// "a..b ms" for each window, from `origin`: to set the UDP gaps against.
std::string describe(const std::vector<TimeWindow>& windows, Clock::time_point origin) {
  std::string out;
  for (const auto& [from, to] : windows)
    out += (out.empty() ? "" : ", ") + std::to_string(std::chrono::duration_cast<milliseconds>(from - origin).count()) +
           ".." + std::to_string(std::chrono::duration_cast<milliseconds>(to - origin).count());
  return out + " ms";
}

// No datagram lost in the node: every one lost is one the kernel counted as dropped outside
// it (udp_stream.h, OutsideDrops). On a quiet machine that is none at all; on a busy one the
// lab client's 256-frame receive ring overflows now and then, TCP retransmits what it lost
// there and UDP does not.
void expect_lost_only_outside_the_node(const UdpFigures& datagrams, const OutsideDrops& outside,
                                       const std::string& log) {
  const std::uint64_t dropped = outside.client_ring() + outside.receive_buffers();
  EXPECT_LE(datagrams.lost, dropped) << "datagrams lost beyond what the kernel dropped outside the node ("
                                     << outside.to_string() << ")\n" << log;
}

// Every connection alive on the sandbox it started on, answering in time.
void expect_no_flow_lost(const std::vector<std::pair<std::string, FlowFigures>>& figures, int* lost_total) {
  for (const auto& [name, f] : figures) {
    std::cout << "  " << name << ": " << f.to_string() << "\n";
    *lost_total += f.lost();
    EXPECT_EQ(f.opened, kFlows / 2) << name;
    EXPECT_EQ(f.lost(), 0) << name << ": " << f.to_string();
    // Generous: on a shared 2-core machine the load's own thread can wait its turn for a
    // second or two; a connection whose packets the dataplane dropped waits out TCP's
    // retransmission timeouts, and one left without a dataplane never answers (silent).
    EXPECT_LT(f.longest_wait_ms, 5000) << name << ": a connection hung";
    EXPECT_GT(f.exchanges, f.opened) << name << ": traffic flowed";
  }
}

void DaemonHitlessTest::kill_restart_under_load(config::DataplaneChoice choice, dataplane::Kind kind, int kills) {
  if (kind == dataplane::Kind::nft) {
    // On nftables every connection is a conntrack entry in the node namespace; the limit is
    // the host's (read-only inside a namespace).
    long conntrack_max = 0;
    std::ifstream("/proc/sys/net/netfilter/nf_conntrack_max") >> conntrack_max;
    ASSERT_GE(conntrack_max, kFlows + 1000) << "nf_conntrack_max is too small for " << kFlows << " connections";
  }
  lab_up(choice);
  FlowLoad load(groups());
  ASSERT_EQ(load.opened(), kFlows);
  // One question per connection per second: 10,000 answers a second through the dataplane.
  load.start(milliseconds(1000), std::chrono::seconds(110));
  const OutsideDrops outside = outside_drops();
  UdpStream udp(topo_.client_netns, node(), 27015, std::chrono::microseconds(1000), std::chrono::seconds(110));

  // How long a start takes here: the kills are spread over it and a while after.
  const auto t0 = Clock::now();
  start_daemon();
  ASSERT_TRUE(wait_ready()) << slurp(log());
  const long start_ms = ms_since(t0);
  StoreWriter writer(PORTWAY_BINARY, state(), cfg_.dir);

  const unsigned seed = static_cast<unsigned>(getpid());
  std::mt19937 rng(seed);
  std::vector<TimeWindow> windows;  // from a kill to the next READY=1
  int done = 0, during_start = 0;
  long longest_restart_ms = 0;
  for (int round = 0; done < kills; ++round) {
    // A kill while it runs: idle, or programming one of the writer's commits.
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<long>(0, 400)(rng)));
    ASSERT_TRUE(daemon_->running()) << "the daemon died by itself before kill " << done << "\n" << slurp(log());
    const auto killed_at = Clock::now();
    daemon_->kill_hard();
    ++done;
    // Every other round, one more kill inside the next start (while it adopts what is
    // installed and catches up with the store).
    if (round % 2 == 1 && done < kills) {
      start_daemon();
      std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<long>(0, start_ms)(rng)));
      if (!wait_ready(milliseconds(0))) ++during_start;
      daemon_->kill_hard();
      ++done;
    }
    start_daemon();
    ASSERT_TRUE(wait_ready()) << "no READY=1 after kill " << done << "\n" << slurp(log());
    windows.emplace_back(killed_at, Clock::now());
    longest_restart_ms = std::max(longest_restart_ms, ms_since(killed_at));
  }
  writer.stop();
  EXPECT_TRUE(eventually_programmed_as_store(kind)) << "the daemon did not catch up with the store\n" << slurp(log());
  EXPECT_TRUE(new_flows_answered());
  const UdpFigures datagrams = udp.stop();
  int lost = 0;
  std::cout << "  " << done << " kills (" << during_start << " before READY=1 of a start taking ~" << start_ms
            << " ms), longest kill-to-ready " << longest_restart_ms << " ms; " << writer.commits()
            << " store commits by another writer (" << writer.failures() << " failed"
            << (writer.failures() ? ": " + writer.last_failure() : "") << "); seed " << seed << "\n";
  expect_no_flow_lost(load.stop(), &lost);
  std::cout << "  UDP: " << datagrams.to_string(udp.started()) << "\n  " << lost << " of " << kFlows
            << " flows lost, " << datagrams.lost << " datagrams lost (" << lost_outside(datagrams.gaps, windows)
            << " outside the kill windows)\n  kill windows (kill to READY=1): " << describe(windows, udp.started())
            << "\n  " << outside.to_string() << "\n";
  EXPECT_EQ(writer.failures(), 0) << writer.last_failure();
  EXPECT_GE(writer.commits(), kills) << "the writer committed too little for kills to meet its changes";
  // Half the in-start kills land before READY=1 on average; none at all would mean the
  // moments are chosen badly.
  EXPECT_GE(during_start, kills / 10) << "kills inside a start";
  EXPECT_GT(datagrams.sent, 1000u);
  // The fast path (or the nft table) forwards without any process: not even the kill
  // windows lose a datagram in the node. The daemon's log says what each start found and
  // changed.
  expect_lost_only_outside_the_node(datagrams, outside, slurp(log()));
  EXPECT_EQ(datagrams.foreign, 0u);
}

TEST_F(DaemonHitlessTest, XdpSurvivesTwentyKillsUnderLoad) {
  kill_restart_under_load(config::DataplaneChoice::xdp, dataplane::Kind::xdp, 20);
}

TEST_F(DaemonHitlessTest, NftSurvivesKillsUnderLoad) {
  kill_restart_under_load(config::DataplaneChoice::nft, dataplane::Kind::nft, 6);
}

// An upgrade: the daemon of this build runs, is killed, and the daemon of a build whose BPF
// programs differ (portway-marked) starts on the same state and pins; then back again. The
// new programs are the ones attached, the maps (and so every flow) stay.
TEST_F(DaemonHitlessTest, UpgradeToOtherProgramsLosesNoFlow) {
  lab_up(config::DataplaneChoice::xdp);
  FlowLoad load(groups());
  ASSERT_EQ(load.opened(), kFlows);
  load.start(milliseconds(1000), std::chrono::seconds(100));
  const OutsideDrops outside = outside_drops();
  UdpStream udp(topo_.client_netns, node(), 27015, std::chrono::microseconds(1000), std::chrono::seconds(100));
  start_daemon();
  ASSERT_TRUE(wait_ready()) << slurp(log());
  const AttachedPrograms before = attached_programs();
  ASSERT_NE(before.uplink_xdp.id, 0u);
  ASSERT_NE(before.sandbox_tc.id, 0u);
  std::vector<TimeWindow> windows;
  std::string figures;
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  int killed_in_start_total = 0;
  for (const auto& [binary, how] : {std::pair{PORTWAY_MARKED_BINARY, SIGKILL}, std::pair{PORTWAY_BINARY, SIGTERM}}) {
    std::this_thread::sleep_for(milliseconds(500));
    const AttachedPrograms old = attached_programs();
    const auto at = Clock::now();
    if (how == SIGKILL) daemon_->kill_hard();
    else daemon_->stop(10000);
    // The SIGKILLed way, the new build is killed three times in the middle of its own start
    // (programs loaded and pinned, links half updated) before one start completes.
    int killed_in_start = 0;
    for (int k = 0; how == SIGKILL && k < 3; ++k) {
      start_daemon(binary);
      // Each later kill comes sooner: a start quicker than the first delay still meets one.
      const long longest[] = {300, 100, 30};
      std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<long>(0, longest[k])(rng)));
      if (!wait_ready(milliseconds(0))) ++killed_in_start;
      daemon_->kill_hard();
    }
    killed_in_start_total += killed_in_start;
    start_daemon(binary);
    ASSERT_TRUE(wait_ready()) << binary << "\n" << slurp(log());
    windows.emplace_back(at, Clock::now());
    const AttachedPrograms now = attached_programs();
    expect_replaced(now, old, binary);
    figures += "  " + std::string(how == SIGKILL ? "SIGKILL" : "SIGTERM") + ", " + std::to_string(killed_in_start) +
               " kills inside its start, then " + fs::path(binary).filename().string() + " ready after " + std::to_string(ms_since(at)) + " ms: " + old.tags() + " -> " + now.tags() + "\n";
  }
  // Back where it started: the same instructions as before the round trip.
  EXPECT_EQ(attached_programs().tags(), before.tags());
  EXPECT_GE(killed_in_start_total, 1) << "no kill landed inside the new build's start";
  EXPECT_TRUE(eventually_programmed_as_store(dataplane::Kind::xdp)) << slurp(log());
  EXPECT_TRUE(new_flows_answered());
  const UdpFigures datagrams = udp.stop();
  std::cout << figures;
  int lost = 0;
  expect_no_flow_lost(load.stop(), &lost);
  std::cout << "  UDP: " << datagrams.to_string(udp.started()) << "\n  upgrade windows (stop to READY=1): "
            << describe(windows, udp.started()) << "\n  2 upgrades, " << lost << " of " << kFlows
            << " flows lost, " << datagrams.lost << " datagrams lost\n  " << outside.to_string() << "\n";
  expect_lost_only_outside_the_node(datagrams, outside, slurp(log()));
}

// The same upgrade through one-shot `portway sync` runs (a node without the daemon, or a
// script): each build's sync swaps its own programs in, flows stay.
TEST_F(DaemonHitlessTest, SyncUpgradeToOtherProgramsLosesNoFlow) {
  lab_up(config::DataplaneChoice::xdp);
  FlowLoad load(groups());
  ASSERT_EQ(load.opened(), kFlows);
  load.start(milliseconds(1000), std::chrono::seconds(100));
  const OutsideDrops outside = outside_drops();
  UdpStream udp(topo_.client_netns, node(), 27015, std::chrono::microseconds(1000), std::chrono::seconds(100));
  const AttachedPrograms before = attached_programs();
  std::string figures;
  for (const char* binary : {PORTWAY_MARKED_BINARY, PORTWAY_BINARY}) {
    std::this_thread::sleep_for(milliseconds(500));
    const AttachedPrograms old = attached_programs();
    const auto at = Clock::now();
    lab::NsProcess sync = lab::NsProcess::spawn(
        topo_.node_netns, {binary, "sync", "--state", state(), "--node", cfg_.dir + "/node.toml"}, log());
    ASSERT_EQ(sync.wait_exit(milliseconds(30000)), std::optional<int>(0)) << slurp(log());
    const AttachedPrograms now = attached_programs();
    expect_replaced(now, old, binary);
    figures += "  " + fs::path(binary).filename().string() + " sync took " + std::to_string(ms_since(at)) + " ms: " +
               old.tags() + " -> " + now.tags() + "\n";
  }
  EXPECT_EQ(attached_programs().tags(), before.tags());
  EXPECT_TRUE(new_flows_answered());
  const UdpFigures datagrams = udp.stop();
  std::cout << figures;
  int lost = 0;
  expect_no_flow_lost(load.stop(), &lost);
  std::cout << "  UDP: " << datagrams.to_string(udp.started()) << "\n  2 upgrades by sync, " << lost << " of " << kFlows
            << " flows lost, " << datagrams.lost << " datagrams lost\n  " << outside.to_string() << "\n";
  expect_lost_only_outside_the_node(datagrams, outside, slurp(log()));
}

// SIGTERM ends the daemon with exit 0 and leaves the dataplane forwarding: the connections
// carry on, new ones are answered, pins and links (or the nft table) stay.
class DaemonSigtermTest : public DaemonHitlessTest, public ::testing::WithParamInterface<config::DataplaneChoice> {};

TEST_P(DaemonSigtermTest, LeavesTheDataplaneForwarding) {
  lab_up(GetParam());
  FlowLoad load({{"client->service", topo_.client_netns, vip_, 7000, 500},
                 {"client->node-port", topo_.client_netns, node(), 7000, 500}});
  load.start(milliseconds(100), std::chrono::seconds(60));
  const OutsideDrops outside = outside_drops();
  UdpStream udp(topo_.client_netns, node(), 27015, std::chrono::microseconds(1000), std::chrono::seconds(60));
  start_daemon();
  ASSERT_TRUE(wait_ready()) << slurp(log());
  const pid_t pid = daemon_->pid();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(daemon_->wait_exit(milliseconds(10000)), std::optional<int>(0)) << slurp(log());
  // A while without any daemon: everything still forwards.
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_TRUE(new_flows_answered());
  {
    netlink::NetnsGuard in(topo_.node_netns);
    if (GetParam() == config::DataplaneChoice::xdp) EXPECT_TRUE(dataplane::xdp::XdpDataplane(settings_).is_running());
    else EXPECT_TRUE(dataplane::nft::NftDataplane(settings_).is_installed());
  }
  EXPECT_TRUE(programmed_as_store(GetParam() == config::DataplaneChoice::xdp ? dataplane::Kind::xdp : dataplane::Kind::nft));
  const UdpFigures datagrams = udp.stop();
  for (const auto& [name, f] : load.stop()) {
    std::cout << "  " << name << ": " << f.to_string() << "\n";
    EXPECT_EQ(f.lost(), 0) << name;
  }
  std::cout << "  UDP: " << datagrams.to_string(udp.started()) << "\n  " << outside.to_string() << "\n";
  expect_lost_only_outside_the_node(datagrams, outside, slurp(log()));
}

INSTANTIATE_TEST_SUITE_P(BothDataplanes, DaemonSigtermTest,
                         ::testing::Values(config::DataplaneChoice::xdp, config::DataplaneChoice::nft),
                         [](const auto& param) { return std::string(config::to_string(param.param)); });

}  // namespace
}  // namespace portway::itest
