// portway without root (docs/operations.md "Privileges"), end to end on a lab node:
// - every command and subcommand, run as a uid with no capabilities against a real store
//   (its own copy, and root's), exits 0, 1 or 2 with a one-line message: never a signal;
// - a uid holding only CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON programs both dataplanes and
//   they forward real traffic (namespaces of this test);
// - the daemon's capability drop leaves exactly those three.
// Each test has its own lab (namespaces, pin folder, cgroup, directories), removed when it ends.
#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <system_error>
#include <thread>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/sync.h"
#include "dataplane/sync_status.h"
#include "lab/ns_process.h"
#include "daemon/capabilities.h"
#include "lab/cgroup_dir.h"
#include "lab/lab.h"
#include "lab/node_file_writer.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "loader/cgroup_link.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "portway_process.h"
#include "store/sqlite_store.h"
#include "lab_test_config.h"
#include "loader/unique_fd.h"
#include "support/root.h"

namespace portway::lab {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSetpriv = "/usr/bin/setpriv";
constexpr const char* kUnshare = "/usr/bin/unshare";

// A uid and gid no account uses, unique per test process.
unsigned test_uid() { return 61000 + static_cast<unsigned>(getpid()) % 4000; }

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class UniqueNetnsFd {
 public:
  explicit UniqueNetnsFd(const std::string& name)
      : fd_(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~UniqueNetnsFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueNetnsFd(const UniqueNetnsFd&) = delete;
  UniqueNetnsFd& operator=(const UniqueNetnsFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class PrivilegeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    ASSERT_TRUE(fs::exists(kSetpriv)) << "setpriv (util-linux) is needed: scripts/install-deps";
    cfg_ = itest::lab_test_config("pwv", "privtest");
    lab_down(cfg_);  // a crashed earlier run of this pid's prefix
    settings_ = lab_node_settings(cfg_);
    ASSERT_FALSE(settings_.cgroup.empty()) << "no cgroup v2 hierarchy mounted on this machine";
    up_ = true;
    lab_up(cfg_, config::DataplaneChoice::nft);
    topo_ = plan_topology({cfg_.prefix, 0});
    uid_ = test_uid();
    user_dir_ = cfg_.dir + "-user";
    user_pins_ = std::string("/sys/fs/bpf/portway-privtest-") + std::to_string(getpid());
    make_user_copy();
  }

  void TearDown() override {
    if (daemon_) daemon_->stop(3000);
    if (!up_) return;
    lab_down(cfg_);
    std::error_code ec;
    fs::remove_all(user_dir_, ec);
    fs::remove_all(user_pins_, ec);  // bpffs: unlinking pins (and empty folders) is allowed
    EXPECT_FALSE(fs::exists(user_pins_)) << "pins left behind";
    EXPECT_FALSE(netlink::named_netns_exists(topo_.node_netns));
  }

  // The lab's store and node file, owned by the test uid in a folder of its own: what a
  // dedicated daemon user has (docs/operations.md "Running the daemon under systemd").
  void make_user_copy() {
    fs::create_directories(user_dir_);
    for (const char* f : {"state.db", "node.toml", "dataplane.json", "reserved-ports"})
      if (fs::exists(cfg_.dir + "/" + f)) fs::copy_file(cfg_.dir + "/" + f, user_dir_ + "/" + f);
    for (const auto& e : fs::directory_iterator(user_dir_)) ASSERT_EQ(::chown(e.path().c_str(), uid_, uid_), 0);
    ASSERT_EQ(::chown(user_dir_.c_str(), uid_, uid_), 0);
    ASSERT_EQ(::chmod(user_dir_.c_str(), 0700), 0);
  }

  std::vector<std::string> as_user(const std::vector<std::string>& caps) const {
    const std::string id = std::to_string(uid_);
    std::vector<std::string> a{"--reuid=" + id, "--regid=" + id, "--clear-groups"};
    if (caps.empty()) {
      a.insert(a.end(), {"--inh-caps=-all", "--bounding-set=-all"});
    } else {
      std::string list = "-all";
      for (const auto& c : caps) list += ",+" + c;
      a.insert(a.end(), {"--inh-caps=" + list, "--ambient-caps=" + list, "--bounding-set=" + list});
    }
    return a;
  }

  // portway as the test uid in the lab's node namespace, holding `caps` (none when empty).
  itest::PortwayResult run_as_user(const std::vector<std::string>& args,
                                   const std::vector<std::string>& caps = {}) {
    UniqueNetnsFd node(topo_.node_netns);
    itest::PortwayRun run;
    run.args = as_user(caps);
    run.args.push_back(PORTWAY_BINARY);
    run.args.insert(run.args.end(), args.begin(), args.end());
    run.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PORTWAY_STATE=" + user_dir_ + "/state.db"};
    run.netns_fd = node.get();
    run.timeout = std::chrono::seconds(60);
    return itest::run_portway(kSetpriv, run);
  }

  // As run_as_user, in a mount namespace of its own where /sys/fs/bpf is this test's folder on
  // the node's bpffs, owned by the uid. systemd mounts /sys/fs/bpf with mode 0700: the unit
  // lets its user reach the pin folder with o+x (packaging/systemd/portway.service); a test
  // may change nothing of the node outside its own pin folder, so it binds that instead. The
  // pins land on the node's bpffs and outlive the command as they would there.
  itest::PortwayResult run_with_caps(const std::vector<std::string>& args) {
    UniqueNetnsFd node(topo_.node_netns);
    itest::PortwayRun run;
    run.args = {"--mount", "--propagation", "private", "/bin/sh", "-c", with_caps_command(args)};
    run.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    run.netns_fd = node.get();
    run.timeout = std::chrono::seconds(60);
    return itest::run_portway(kUnshare, run);
  }

  // The shell command that runs portway with only the three capabilities, in a mount
  // namespace where /sys/fs/bpf is this test's folder (see run_with_caps).
  std::string with_caps_command(const std::vector<std::string>& args) const {
    std::string cmd = "mount --bind " + user_pins_ + " /sys/fs/bpf && exec " + kSetpriv;
    for (const auto& a : as_user({"bpf", "net_admin", "perfmon"})) cmd += " " + a;
    cmd += std::string(" ") + PORTWAY_BINARY;
    for (const auto& a : args) cmd += " '" + a + "'";
    return cmd;
  }

  // `portway daemon` as the uid with only the three capabilities; waits until it has
  // programmed the store. unshare, sh and setpriv each exec the next: the pid is the daemon's.
  void start_daemon_with_caps(const std::string& dataplane) {
    // The lab's settings (user_node() is a copy of its node file) on `dataplane`, checking every
    // second, with the uid's API socket in the uid's folder (the lab's names a folder only root
    // may write).
    config::NodeSettings settings = lab_node_settings(cfg_);
    settings.dataplane = config::parse_dataplane_choice(dataplane).value();
    settings.resync_seconds = 1;
    settings.api_socket = user_dir_ + "/api.sock";
    write_node_file(daemon_node(), settings);
    ASSERT_EQ(::chown(daemon_node().c_str(), uid_, uid_), 0);
    daemon_.emplace(NsProcess::spawn(
        topo_.node_netns,
        {kUnshare, "--mount", "--propagation", "private", "/bin/sh", "-c",
         with_caps_command({"daemon", "--state", user_state(), "--node", daemon_node()})},
        cfg_.dir + "/daemon.log"));
    const pid_t pid = daemon_->pid();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
      std::optional<dataplane::SyncStatus> s;
      try {
        s = dataplane::load_sync_status(dataplane::sync_status_path(user_state()));
      } catch (const std::exception&) {
      }
      if (s && s->daemon_pid == pid && s->ready && s->dataplane == dataplane) return;
      if (!daemon_->running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::ifstream log(cfg_.dir + "/daemon.log");
    std::stringstream ss;
    ss << log.rdbuf();
    FAIL() << "the daemon did not program " << dataplane << ": " << ss.str();
  }

  std::string daemon_node() const { return user_dir_ + "/daemon.toml"; }
  std::string user_state() const { return user_dir_ + "/state.db"; }
  std::string user_node() const { return user_dir_ + "/node.toml"; }

  // Every frontend answers, from a sandbox (tc / nft prerouting), from the node's own sockets
  // (socket hooks / nft output) and, for node ports, from the client (XDP / nft).
  void expect_every_frontend_answers(const std::string& dataplane) {
    state::DataplaneState desired;
    std::vector<store::SandboxRecord> sandboxes;
    {
      // Root's copy: the same content, and a store root may open (the uid's is the uid's).
      auto store = store::SqliteStore::open(cfg_.dir + "/state.db", {.create = false});
      desired = agent::compile_store(store.get());
      sandboxes = store->begin_read()->sandboxes();
    }
    const Topology t = plan_topology({cfg_.prefix, static_cast<unsigned>(sandboxes.size())});
    ASSERT_FALSE(t.sandboxes.empty());
    unsigned answered = 0;
    auto check = [&](const std::string& what, const std::function<ProbeResult()>& probe, std::uint16_t target) {
      const ProbeResult r = probe();
      WhoAnswer who;
      EXPECT_EQ(r.status, ProbeStatus::ok) << dataplane << " " << what << ": " << to_string(r.status) << " " << r.error;
      if (r.status != ProbeStatus::ok) return;
      ASSERT_TRUE(parse_who(r.reply, who)) << what << ": " << r.reply;
      EXPECT_EQ(who.port, target) << what;
      ++answered;
    };
    for (const auto& f : desired.frontends()) {
      if (!std::holds_alternative<net::Ipv4>(f.key.address)) continue;
      const std::string addr = state::to_string(f.key.address);
      auto probe_from = [&, proto = f.key.protocol, port = f.key.port](const std::string& netns) {
        return proto == config::Protocol::udp ? udp_probe(netns, addr, port) : tcp_probe(netns, addr, port);
      };
      check(addr + " from a sandbox", [&] { return probe_from(t.sandboxes.front().netns); },
            f.target_port);
      check(addr + " from the node",
            [&] { return probe_in_cgroup(settings_.cgroup, [&] { return probe_from(t.node_netns); }); },
            f.target_port);
    }
    for (const auto& n : desired.node_ports()) {
      const std::string addr = net::to_string(t.node_address);
      const auto port = n.key.node_port;
      const auto proto = n.key.protocol;
      check("node port " + std::to_string(port),
            [&] { return proto == config::Protocol::udp ? udp_probe(t.client_netns, addr, port) : tcp_probe(t.client_netns, addr, port); },
            n.target_port);
    }
    EXPECT_GT(answered, 10u) << dataplane;
  }

  LabConfig cfg_;
  config::NodeSettings settings_;
  Topology topo_;
  bool up_ = false;
  unsigned uid_ = 0;
  std::string user_dir_, user_pins_;
  std::optional<NsProcess> daemon_;
};

// What a user sees when a command fails: exactly one line saying so, naming the command.
void expect_clean_exit(const itest::PortwayResult& r, const std::string& what) {
  EXPECT_FALSE(r.timed_out) << what;
  EXPECT_EQ(r.signal, 0) << what << ": " << r.describe();
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1 || r.exit_code == 2) << what << ": " << r.describe();
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << what << ": " << r.err;
  if (r.exit_code == 0) return;
  std::vector<std::string> messages;
  for (const auto& line : split_lines(r.err))
    if (line.rfind("portway", 0) == 0) messages.push_back(line);
  EXPECT_EQ(messages.size(), 1u) << what << ": " << r.describe();
}

TEST_F(PrivilegeTest, EveryCommandWithoutPrivilegeExitsWithAMessageNeverASignal) {
  const std::string app = std::string(PORTWAY_SOURCE_DIR) + "/testdata/apps/tcp-echo.toml";
  const std::string other_lab = "pwvu" + std::to_string(getpid() % 100000);
  const std::string other_dir = user_dir_ + "/lab";
  // Against the uid's own copy of the store (readable and writable), then root's (not).
  for (const auto& [state, node] : {std::pair{user_state(), user_node()},
                                    std::pair{cfg_.dir + "/state.db", cfg_.dir + "/node.toml"}}) {
    const std::vector<std::vector<std::string>> commands{
        {"validate", app},
        {"validate", "--json", app},
        {"apply", "--state", state, "--node", node, app},
        {"apply", "--state", state, "--node", node, "--json", app},
        {"services", "--state", state},
        {"services", "--state", state, "--json"},
        {"sandbox", "list", "--state", state},
        {"sandbox", "list", "--state", state, "--json"},
        {"sandbox", "add", "--state", state, "--app", "tcp-echo", "--service", "echo", "--ip", "198.18.250.9",
         "--id", "privtest"},
        {"sandbox", "set", "--state", state, "privtest", "--to", "stopped"},
        {"sandbox", "rm", "--state", state, "privtest"},
        {"probe"},
        {"probe", "--json"},
        {"sync", "--state", state, "--node", node},
        {"sync", "--state", state, "--node", node, "--dataplane", "xdp"},
        {"sync", "--state", state, "--node", node, "--dataplane", "nft"},
        {"sync", "--state", state, "--node", node, "--remove-all"},
        {"status", "--state", state, "--node", node},
        {"status", "--state", state, "--node", node, "--json"},
        {"stats", "--state", state, "--node", node},
        {"stats", "--state", state, "--node", node, "--json"},
        {"stats", "--state", state, "--node", node, "--prometheus"},
        {"lab", "up", "--prefix", other_lab, "--dir", other_dir},
        {"lab", "run", "--prefix", other_lab, "--dir", other_dir},
        {"lab", "down", "--prefix", other_lab, "--dir", other_dir},
        {"daemon", "--state", state, "--node", node},
        {"delete", "--state", state, "tcp-echo"},
        {"no-such-command"},
        {},
    };
    for (const auto& args : commands) {
      std::string what = "portway";
      for (const auto& a : args) what += " " + a;
      expect_clean_exit(run_as_user(args), what);
      if (!args.empty()) {
        std::vector<std::string> help{args.front(), "--help"};
        const auto r = run_as_user(help);
        EXPECT_EQ(r.exit_code, args.front() == "no-such-command" ? 2 : 0) << what << " --help: " << r.describe();
        // --version never fails: without privilege it says why the programs cannot be named.
        const auto version = run_as_user({args.front(), "--version"});
        if (args.front() != "no-such-command") {
          EXPECT_EQ(version.exit_code, 0) << what << " --version: " << version.describe();
          EXPECT_TRUE(version.out.find("\nbpf programs: cannot read ") != std::string::npos ||
                      version.out.find("\nbpf programs: not installed") != std::string::npos)
              << what << " --version: " << version.describe();
        }
      }
    }
  }
  // The failure this guards: stats with nftables installed died of SIGABRT (exit 134).
  const auto stats = run_as_user({"stats", "--state", user_state(), "--node", user_node()});
  EXPECT_EQ(stats.exit_code, 2) << stats.describe();
  EXPECT_NE(stats.err.find("CAP_NET_ADMIN"), std::string::npos) << stats.err;
  // Root's lab was not touched by any of it: the lab still forwards.
  const auto rows = lab_run(cfg_, {config::DataplaneChoice::nft});
  EXPECT_TRUE(std::all_of(rows.begin(), rows.end(), [](const LabRow& r) { return r.ok; })) << format_table(rows);
}

TEST_F(PrivilegeTest, ThreeCapabilitiesProgramBothDataplanesAndTheyForward) {
  ASSERT_EQ(::mkdir(user_pins_.c_str(), 0700), 0) << user_pins_;
  ASSERT_EQ(::chown(user_pins_.c_str(), uid_, uid_), 0);
  // nft is what root's lab left; the uid takes over, switches to xdp and back.
  for (const char* dataplane : {"nft", "xdp", "nft", "xdp"}) {
    const auto sync = run_with_caps({"sync", "--state", user_state(), "--node", user_node(), "--dataplane", dataplane});
    ASSERT_EQ(sync.exit_code, 0) << dataplane << ": " << sync.describe();
    const auto status = run_with_caps({"status", "--state", user_state(), "--node", user_node(), "--json"});
    ASSERT_EQ(status.exit_code, 0) << status.describe();
    EXPECT_EQ(nlohmann::json::parse(status.out).value("active", ""), dataplane) << status.out;
    expect_every_frontend_answers(dataplane);
  }
  // The fast path really is the uid's: its pins on the node's bpffs, owned by it.
  const std::string pins = user_pins_ + "/" + fs::path(settings_.bpffs_dir).filename().string();
  struct stat st {};
  ASSERT_EQ(::stat(pins.c_str(), &st), 0) << pins;
  EXPECT_EQ(st.st_uid, uid_);
  const auto stats = run_with_caps({"stats", "--state", user_state(), "--node", user_node(), "--json"});
  EXPECT_EQ(stats.exit_code, 0) << stats.describe();
  // Remove everything as the uid, so that nothing it pinned outlives the test.
  const auto removed = run_with_caps({"sync", "--state", user_state(), "--node", user_node(), "--remove-all"});
  EXPECT_EQ(removed.exit_code, 0) << removed.describe();
}

// The daemon as a dedicated user with only the three capabilities: it programs each
// dataplane, both forward, and /proc/PID/status shows it holding exactly the three.
TEST_F(PrivilegeTest, DaemonWithThreeCapabilitiesProgramsBothDataplanesAndHoldsOnlyThem) {
  ASSERT_EQ(::mkdir(user_pins_.c_str(), 0700), 0) << user_pins_;
  ASSERT_EQ(::chown(user_pins_.c_str(), uid_, uid_), 0);
  const daemon::CapabilityMask kept = daemon::kept_mask();
  for (const char* dataplane : {"xdp", "nft"}) {
    start_daemon_with_caps(dataplane);
    if (HasFatalFailure()) return;
    const daemon::ProcessCapabilities caps = daemon::capabilities_of(daemon_->pid());
    EXPECT_EQ(caps.effective, kept) << daemon::capability_names(caps.effective);
    EXPECT_EQ(caps.permitted, kept) << daemon::capability_names(caps.permitted);
    EXPECT_EQ(caps.ambient, 0u) << daemon::capability_names(caps.ambient);
    EXPECT_EQ(caps.bounding, kept) << daemon::capability_names(caps.bounding);
    expect_every_frontend_answers(dataplane);
    // SIGTERM: exit 0, and the dataplane keeps forwarding without the process.
    daemon_->stop(3000);
    daemon_.reset();
    expect_every_frontend_answers(std::string(dataplane) + " after the daemon stopped");
  }
  const auto removed = run_with_caps({"sync", "--state", user_state(), "--node", user_node(), "--remove-all"});
  EXPECT_EQ(removed.exit_code, 0) << removed.describe();
}

// A pin deleted under a running daemon with only the three capabilities: a map the programs
// use, a metadata map no program uses, and a program. Finding them again by id would need
// CAP_SYS_ADMIN; the daemon puts back the very objects it holds (same kernel ids: the flows,
// counters and names in them kept), and everything keeps answering.
TEST_F(PrivilegeTest, DaemonWithThreeCapabilitiesPutsBackDeletedPinsFromWhatItHolds) {
  ASSERT_EQ(::mkdir(user_pins_.c_str(), 0700), 0) << user_pins_;
  ASSERT_EQ(::chown(user_pins_.c_str(), uid_, uid_), 0);
  start_daemon_with_caps("xdp");
  if (HasFatalFailure()) return;
  const std::string pins = user_pins_ + "/" + fs::path(settings_.bpffs_dir).filename().string();
  const std::vector<std::string> deleted = {pins + "/maps/pw_frontends", pins + "/maps/pw_meta_sets",
                                            pins + "/progs/tc"};
  const auto id_of = [](const std::string& pin) -> std::uint32_t {
    loader::UniqueFd fd(bpf_obj_get(pin.c_str()));
    if (!fd) return 0;
    bpf_prog_info info{};  // maps' and programs' info both begin with type, id
    std::uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 ? info.id : 0;
  };
  std::vector<std::uint32_t> ids;
  for (const auto& pin : deleted) {
    ids.push_back(id_of(pin));
    ASSERT_NE(ids.back(), 0u) << pin;
  }
  for (const auto& pin : deleted) ASSERT_EQ(::unlink(pin.c_str()), 0) << pin;
  // The resync timer (1 s) checks the pins.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto all_back = [&] {
    for (const auto& pin : deleted)
      if (!fs::exists(pin)) return false;
    return true;
  };
  // The daemon logs the re-pin after the pin is back: wait for both (bounded), or the log
  // may be read between the two.
  const std::string repinned = "re-pinned pw_meta_sets from the object this process holds";
  std::stringstream text;
  const auto read_log = [&] {
    std::ifstream log(cfg_.dir + "/daemon.log");
    text.str("");
    text << log.rdbuf();
    return text.str().find(repinned) != std::string::npos;
  };
  while (!(all_back() && read_log()) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(all_back()) << text.str();
  for (std::size_t i = 0; i < deleted.size(); ++i)
    EXPECT_EQ(id_of(deleted[i]), ids[i]) << deleted[i] << " is another object now: " << text.str();
  EXPECT_NE(text.str().find(repinned), std::string::npos) << text.str();
  expect_every_frontend_answers("xdp after its pins were put back");
  daemon_->stop(3000);
  daemon_.reset();
  const auto removed = run_with_caps({"sync", "--state", user_state(), "--node", user_node(), "--remove-all"});
  EXPECT_EQ(removed.exit_code, 0) << removed.describe();
}

// Started as root, the daemon keeps uid 0 but only the three capabilities.
TEST_F(PrivilegeTest, DaemonStartedAsRootHoldsOnlyTheThree) {
  config::NodeSettings settings = lab_node_settings(cfg_);
  settings.dataplane = config::DataplaneChoice::nft;
  const std::string node = cfg_.dir + "/daemon.toml";
  write_node_file(node, settings);
  NsProcess d = NsProcess::spawn(topo_.node_netns, {PORTWAY_BINARY, "daemon", "--state", cfg_.dir + "/state.db", "--node", node},
                                 cfg_.dir + "/daemon.log");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::optional<dataplane::SyncStatus> s;
  while (std::chrono::steady_clock::now() < until && d.running()) {
    try {
      s = dataplane::load_sync_status(dataplane::sync_status_path(cfg_.dir + "/state.db"));
    } catch (const std::exception&) {
    }
    if (s && s->daemon_pid == d.pid() && s->ready) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(s && s->daemon_pid == d.pid() && s->ready) << "the daemon did not become ready";
  const daemon::ProcessCapabilities caps = daemon::capabilities_of(d.pid());
  EXPECT_EQ(caps.effective, daemon::kept_mask()) << daemon::capability_names(caps.effective);
  EXPECT_EQ(caps.permitted, daemon::kept_mask()) << daemon::capability_names(caps.permitted);
  EXPECT_EQ(caps.bounding, daemon::kept_mask()) << daemon::capability_names(caps.bounding);
  EXPECT_EQ(caps.inheritable | caps.ambient, 0u);
  d.stop(3000);
}

// Runs `body` in a forked child (capabilities and mounts changed there stay there); what it
// returns, or the exception it threw, comes back as text.
std::string in_child(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const pid_t child = ::fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    ::close(fds[0]);
    std::string text;
    try {
      text = body();
    } catch (const std::exception& e) {
      text = std::string("threw: ") + e.what();
    }
    const ssize_t n = ::write(fds[1], text.data(), text.size());
    ::_exit(n == static_cast<ssize_t>(text.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += " (child status " + std::to_string(status) + ")";
  return out;
}

std::string describe(const daemon::ProcessCapabilities& c) {
  return "eff=" + daemon::capability_names(c.effective) + " prm=" + daemon::capability_names(c.permitted) +
         " inh=" + daemon::capability_names(c.inheritable) + " bnd=" + daemon::capability_names(c.bounding) +
         " amb=" + daemon::capability_names(c.ambient);
}

TEST(DaemonCapabilities, RootKeepsExactlyTheThreeInEverySet) {
  PORTWAY_REQUIRE_ROOT();
  const std::string kept = daemon::capability_names(daemon::kept_mask());
  EXPECT_EQ(kept, "cap_net_admin,cap_perfmon,cap_bpf");
  const std::string seen = in_child([] {
    config::NodeSettings settings;
    settings.cgroup = "/sys/fs/cgroup";  // named: nothing to mount
    daemon::enter_least_privilege(settings);
    std::ifstream status("/proc/self/status");
    std::string line, nnp;
    while (std::getline(status, line))
      if (line.rfind("NoNewPrivs:", 0) == 0) nnp = line;
    return describe(daemon::capabilities_of()) + " " + nnp;
  });
  EXPECT_EQ(seen, "eff=" + kept + " prm=" + kept + " inh=none bnd=" + kept + " amb=none NoNewPrivs:\t1");
}

// No cgroup v2 hierarchy mounted (a private mount namespace where it was unmounted): the
// daemon mounts one with CAP_SYS_ADMIN and keeps only the three afterwards.
TEST(DaemonCapabilities, MountsAMissingCgroup2ThenDropsSysAdmin) {
  PORTWAY_REQUIRE_ROOT();
  const std::string seen = in_child([] {
    if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare: ") + std::strerror(errno);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return std::string("private: ") + std::strerror(errno);
    // Where a mount point would be made: private to this namespace.
    if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) return std::string("tmpfs");
    while (const auto at = loader::cgroup2_mount())
      if (::umount2(at->c_str(), MNT_DETACH) != 0) return "umount " + *at + ": " + std::strerror(errno);
    config::NodeSettings settings;  // cgroup = "": the hierarchy's root
    const daemon::LeastPrivilege lp = daemon::enter_least_privilege(settings);
    const auto mounted = loader::cgroup2_mount();
    return std::string(mounted ? "cgroup2 at " + *mounted : "no cgroup2") + "; " + (lp.mounted.empty() ? "" : lp.mounted.front()) +
           "; eff=" + daemon::capability_names(daemon::capabilities_of().effective);
  });
  const std::string kept = daemon::capability_names(daemon::kept_mask());
  EXPECT_EQ(seen, "cgroup2 at /run/portway/cgroup2; cgroup2 at /run/portway/cgroup2; eff=" + kept);
}

}  // namespace
}  // namespace portway::lab
