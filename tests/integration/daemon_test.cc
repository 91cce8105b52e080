// `portway daemon` end to end (docs/daemon.md), the real binary as a child in a lab node's
// namespace, on both dataplanes: store changes by the CLI reach the kernel without `sync`
// (level-triggered), one daemon per pin folder, SIGTERM leaves the dataplane forwarding,
// SIGHUP re-reads the node file, drift is repaired, store faults keep the last programming and
// recover. Each test has its own lab (namespaces, pin folder, cgroup, state directory) and
// daemon, removed when it ends.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sched.h>
#include <sys/mount.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <set>
#include <thread>

#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/sync_status.h"
#include "dataplane/xdp/pin_layout.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/lab.h"
#include "lab/node_file_writer.h"
#include "lab/ns_process.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "loader/unique_fd.h"
#include "loader/kernel_objects.h"
#include "loader/tc_filter.h"
#include "loader/xdp_link.h"
#include "agent/reserved_ports.h"
#include "agent/sync.h"
#include "model/sandbox_ops.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "store/sqlite_store.h"
#include "lab_test_config.h"
#include "support/root.h"
#include "support/unix_http.h"
#include "tcp_connection.h"

namespace portway::lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Polls `done` every 10 ms until it holds or `bound` has passed; how long it took.
std::optional<std::chrono::milliseconds> within(std::chrono::milliseconds bound, const std::function<bool()>& done) {
  const auto start = Clock::now();
  while (Clock::now() - start < bound) {
    if (done()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

std::uint32_t xdp_prog_id(const std::string& ifname) {
  bpf_xdp_query_opts q{};
  q.sz = sizeof q;
  const unsigned idx = netlink::ifindex_of(ifname);
  if (idx == 0 || bpf_xdp_query(static_cast<int>(idx), 0, &q) != 0) return 0;
  return q.prog_id;
}

std::string dataplane_name(config::DataplaneChoice c) { return std::string(config::to_string(c)); }

class DaemonTest : public ::testing::TestWithParam<config::DataplaneChoice> {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    cfg_ = itest::lab_test_config("pwd", "daemontest");
    lab_down(cfg_);  // a crashed earlier run of this pid's prefix
    settings_ = lab_node_settings(cfg_);
    up_ = true;
    lab_up(cfg_, GetParam());
    topo_ = plan_topology({cfg_.prefix, 0});
    write_daemon_node_file(GetParam());
  }

  void TearDown() override {
    if (daemon_) daemon_->stop(3000);
    if (!up_) return;
    lab_down(cfg_);
    EXPECT_FALSE(fs::exists(settings_.bpffs_dir)) << "pins left behind";
  }

  std::string state() const { return (state_dir_.empty() ? cfg_.dir : state_dir_) + "/state.db"; }
  std::string daemon_node() const { return cfg_.dir + "/daemon.toml"; }
  std::string daemon_log() const { return cfg_.dir + "/daemon.log"; }
  std::string cli_log() const { return cfg_.dir + "/cli.log"; }
  std::string node_port() const { return net::to_string(topo_.node_address); }
  // The port of the lab node file's metrics_address ("127.0.0.1:PORT").
  int metrics_port() const {
    const std::string text = slurp(daemon_node());
    const auto at = text.find("metrics_address = \"127.0.0.1:");
    return at == std::string::npos ? 0 : std::stoi(text.substr(at + std::string("metrics_address = \"127.0.0.1:").size()));
  }

  // The lab's node settings naming the dataplane (auto would move an nft lab to the fast
  // path) and checking every second. They keep the lab's API socket in the lab's folder and
  // its metrics on the lab node's own loopback (never the node defaults, which parallel tests
  // would share).
  void write_daemon_node_file(config::DataplaneChoice choice, int resync_seconds = 1) {
    config::NodeSettings s = settings_;
    s.dataplane = choice;
    s.resync_seconds = static_cast<std::uint32_t>(resync_seconds);
    write_node_file(daemon_node(), s);
  }

  std::optional<dataplane::SyncStatus> status() {
    try {
      return dataplane::load_sync_status(dataplane::sync_status_path(state()));
    } catch (const std::exception&) {
      return std::nullopt;  // caught between write and rename is impossible; a parse error is not
    }
  }

  // Starts the daemon and waits until it has programmed the store (status ready, its pid).
  void start_daemon() {
    daemon_.emplace(NsProcess::spawn(topo_.node_netns,
                                     {PORTWAY_BINARY, "daemon", "--state", state(), "--node", daemon_node()},
                                     daemon_log()));
    const pid_t pid = daemon_->pid();
    ASSERT_TRUE(within(20s, [&] {
      const auto s = status();
      return s && s->daemon_pid == pid && s->ready;
    })) << "the daemon did not become ready: " << slurp(daemon_log());
  }

  // Runs argv in the node namespace; its exit status (output in cli_log()).
  int run_in_node(const std::vector<std::string>& argv) {
    fs::remove(cli_log());
    NsProcess p = NsProcess::spawn(topo_.node_netns, argv, cli_log());
    return p.wait_exit(60s).value_or(-1);
  }
  int cli(std::vector<std::string> args) {
    args.insert(args.begin(), PORTWAY_BINARY);
    return run_in_node(args);
  }

  std::uint64_t store_generation() {
    auto store = store::SqliteStore::open(state(), {.create = false});
    return store->begin_read()->generation();
  }

  // The kernel holds what the store compiles to (read back in the node namespace).
  bool kernel_holds_store() {
    std::unique_ptr<store::Store> store = store::SqliteStore::open(state(), {.create = false});
    const state::DataplaneState desired = agent::compile_store(store.get());
    netlink::NetnsGuard in(topo_.node_netns);
    if (GetParam() == config::DataplaneChoice::xdp)
      return dataplane::xdp::XdpDataplane(settings_).installed() == desired;
    dataplane::nft::NftDataplane reader(settings_);
    reader.learn_names(desired);
    return reader.installed() == desired;
  }

  // Which sandboxes answer `n` new connections to the tcp-echo node port (each a new flow).
  std::multiset<std::string> answers(int n) {
    std::multiset<std::string> who;
    for (int i = 0; i < n; ++i) {
      const ProbeResult r = tcp_probe(topo_.client_netns, node_port(), 7000, "WHO\n", 1000ms);
      WhoAnswer a;
      who.insert(r.status == ProbeStatus::ok && parse_who(r.reply, a) ? a.sandbox : "(" + to_string(r.status) + ")");
    }
    return who;
  }

  bool forwarding() {
    const auto who = answers(4);
    return who.count("tcp-echo-echo-0") + who.count("tcp-echo-echo-1") == 4;
  }

  LabConfig cfg_;
  config::NodeSettings settings_;
  Topology topo_;
  std::optional<NsProcess> daemon_;
  bool up_ = false;
  std::string state_dir_;  // where the state database lives; the lab's folder when empty
};

// Item: level-triggered. A sandbox stopped with the CLI on the same state file gets no new
// flow, and a newly applied app is in the kernel, without anyone running `sync`.
TEST_P(DaemonTest, StoreChangesByTheCliReachTheKernelWithoutSync) {
  start_daemon();
  ASSERT_TRUE(forwarding()) << slurp(daemon_log());

  const auto committed = Clock::now();
  ASSERT_EQ(cli({"sandbox", "set", "--state", state(), "tcp-echo-echo-0", "--to", "stopped"}), 0) << slurp(cli_log());
  const std::uint64_t generation = store_generation();
  const auto took = within(2s, [&] {
    const auto s = status();
    return s && s->programmed_generation == generation;
  });
  ASSERT_TRUE(took) << "generation " << generation << " not programmed within 2 s: " << slurp(daemon_log());
  std::printf("stopped sandbox programmed %lld ms after the CLI started (daemon measured %.2f ms)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - committed).count()),
              status()->last_change_seconds * 1000);
  EXPECT_TRUE(kernel_holds_store());
  const auto who = answers(30);
  EXPECT_EQ(who.count("tcp-echo-echo-0"), 0u) << "a new flow reached the stopped sandbox";
  EXPECT_EQ(who.count("tcp-echo-echo-1"), 30u);

  // A new app: its node port is in the kernel, again without sync.
  const std::string app = cfg_.dir + "/extra.toml";
  std::ofstream(app) << "name = \"extra\"\n\n[services.web]\ncommand = \"/bin/app\"\n\n"
                        "[[services.web.ports]]\nport = 7100\nname = \"web\"\ntype = \"tcp\"\nnode_port = 7100\n";
  ASSERT_EQ(cli({"apply", "--state", state(), "--node", daemon_node(), app}), 0) << slurp(cli_log());
  const std::uint64_t applied = store_generation();
  ASSERT_TRUE(within(3s, [&] {
    const auto s = status();
    return s && s->programmed_generation == applied;
  })) << slurp(daemon_log());
  EXPECT_TRUE(kernel_holds_store());
  const auto s = status();
  EXPECT_EQ(s->store_generation, applied);
  EXPECT_TRUE(s->ready);
  EXPECT_TRUE(daemon_->running());
  // The new node port is reserved in the node's namespace too (a change with node ports runs
  // the reservation; changes without them skip it), the lab's own node port still is.
  const auto reserved = [&] {
    netlink::NetnsGuard in(topo_.node_netns);
    return slurp("/proc/sys/net/ipv4/ip_local_reserved_ports");
  };
  EXPECT_TRUE(within(2s, [&] { return agent::parse_port_ranges(reserved()).count(7100) == 1; })) << reserved();
  EXPECT_EQ(agent::parse_port_ranges(reserved()).count(7000), 1u) << reserved();
}

// Item: one daemon per pin folder. A second daemon and a sync are refused with exit 2 naming
// the running daemon's pid; sync does so at once instead of waiting --wait.
TEST_P(DaemonTest, ASecondDaemonAndASyncAreRefusedNamingThePid) {
  start_daemon();
  const std::string pid = "pid " + std::to_string(daemon_->pid());
  EXPECT_EQ(cli({"daemon", "--state", state(), "--node", daemon_node()}), 2);
  EXPECT_NE(slurp(cli_log()).find(pid), std::string::npos) << slurp(cli_log());
  const auto started = Clock::now();
  EXPECT_EQ(cli({"sync", "--state", state(), "--node", daemon_node(), "--wait", "30"}), 2);
  EXPECT_LT(Clock::now() - started, 10s) << "sync waited for a lock the daemon never releases";
  EXPECT_NE(slurp(cli_log()).find(pid), std::string::npos) << slurp(cli_log());
  EXPECT_NE(slurp(cli_log()).find("daemon"), std::string::npos) << slurp(cli_log());
  EXPECT_TRUE(daemon_->running());
  EXPECT_TRUE(forwarding());
}

// Item: SIGTERM ends the daemon with exit 0 and the dataplane keeps forwarding, established
// flows and new ones; the next sync finds nothing to change.
TEST_P(DaemonTest, SigtermExitsZeroAndTheDataplaneKeepsForwarding) {
  start_daemon();
  itest::TcpConnection conn(topo_.client_netns, node_port(), 7000);
  ASSERT_TRUE(conn.connected());
  const ProbeResult before = conn.exchange("WHO\n");
  ASSERT_EQ(before.status, ProbeStatus::ok) << before.error;

  ASSERT_EQ(::kill(daemon_->pid(), SIGTERM), 0);
  EXPECT_EQ(daemon_->wait_exit(5s), 0) << slurp(daemon_log());
  daemon_.reset();

  const ProbeResult after = conn.exchange("WHO\n");
  EXPECT_EQ(after.status, ProbeStatus::ok) << after.error;
  EXPECT_EQ(after.reply, before.reply);
  EXPECT_TRUE(forwarding());
  EXPECT_TRUE(kernel_holds_store());
  ASSERT_EQ(cli({"sync", "--state", state(), "--node", daemon_node()}), 0) << slurp(cli_log());
  EXPECT_NE(slurp(cli_log()).find("no changes"), std::string::npos) << slurp(cli_log());
}

// Item: SIGHUP re-reads the node file and programs with it: a node file naming the other
// dataplane moves the node there at once, still forwarding.
TEST_P(DaemonTest, SighupRereadsTheNodeFile) {
  start_daemon();
  const auto other = GetParam() == config::DataplaneChoice::xdp ? config::DataplaneChoice::nft
                                                                : config::DataplaneChoice::xdp;
  write_daemon_node_file(other);
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  ASSERT_TRUE(within(10s, [&] {
    const auto s = status();
    return s && s->dataplane == dataplane_name(other) && s->ready;
  })) << slurp(daemon_log());
  EXPECT_TRUE(forwarding());
  {
    netlink::NetnsGuard in(topo_.node_netns);
    EXPECT_EQ(dataplane::xdp::XdpDataplane(settings_).is_installed(), other == config::DataplaneChoice::xdp);
  }
  EXPECT_TRUE(daemon_->running());
  EXPECT_NE(slurp(daemon_log()).find("node file re-read"), std::string::npos) << slurp(daemon_log());
}

// Item: drift repair while the daemon runs. nft: the table deleted; xdp: the uplink's XDP
// link detached. Repaired within a bound (resync_seconds = 1, or at once on the link event),
// forwarding again, and counted by kind in the status.
TEST_P(DaemonTest, DriftIsRepairedWhileTheDaemonRuns) {
  start_daemon();
  const std::int64_t broke_at = now_ms();
  if (GetParam() == config::DataplaneChoice::nft) {
    ASSERT_EQ(run_in_node({"/usr/sbin/nft", "delete", "table", "inet", "portway"}), 0) << slurp(cli_log());
  } else {
    const dataplane::xdp::PinLayout pins{settings_.bpffs_dir};
    loader::UniqueFd link = loader::open_pinned(pins.xdp_link(topo_.uplink));
    ASSERT_TRUE(link);
    ASSERT_EQ(bpf_link_detach(link.get()), 0);
  }
  const auto took = within(5s, [&] {
    if (!kernel_holds_store()) return false;
    if (GetParam() == config::DataplaneChoice::xdp) {
      netlink::NetnsGuard in(topo_.node_netns);
      return xdp_prog_id(topo_.uplink) != 0;
    }
    return true;
  });
  ASSERT_TRUE(took) << "not repaired within 5 s: " << slurp(daemon_log());
  std::printf("repaired %lld ms after the drift\n", static_cast<long long>(took->count()));
  EXPECT_TRUE(forwarding());
  ASSERT_TRUE(within(3s, [&] {
    const auto s = status();
    return s && s->last_check_ms >= broke_at;
  }));
  // Counted under the kind docs/operations.md "Drift repair" names for it.
  const std::string kind = GetParam() == config::DataplaneChoice::nft ? "nft_table_missing" : "xdp_detached";
  const auto s = status();
  std::string counted;
  for (const auto& [k, n] : s->drift_repairs) counted += k + "=" + std::to_string(n) + " ";
  EXPECT_TRUE(s->drift_repairs.contains(kind) && s->drift_repairs.at(kind) >= 1)
      << "the repair is not counted as " << kind << " in the status (counted: " << counted << ")";
  EXPECT_TRUE(daemon_->running());
}

// Item: link events trigger a check at once. With the resync timer far away (300 s), a
// sandbox interface deleted and re-created (a new ifindex, as a container restart does) has
// the sandbox tc program again within 2 s: the kernel's link event woke the daemon. (A
// detached XDP link is not announced by the kernel; the timer repairs that.)
TEST_P(DaemonTest, ARecreatedSandboxInterfaceIsRepairedAtOnce) {
  if (GetParam() != config::DataplaneChoice::xdp) GTEST_SKIP() << "nftables attaches nothing to interfaces";
  write_daemon_node_file(GetParam(), 300);
  start_daemon();
  const SandboxSlot sb = plan_topology({cfg_.prefix, 1}).sandboxes.at(0);
  unsigned before = 0, after = 0;
  {
    netlink::NetnsGuard in(topo_.node_netns);
    before = netlink::ifindex_of(sb.host_link);
    ASSERT_NE(loader::tc_program_id(static_cast<int>(before), loader::TcDirection::ingress), 0u);
    ASSERT_TRUE(netlink::delete_link(sb.host_link));
    const int fd = netlink::open_named_netns(sb.netns);
    ASSERT_GE(fd, 0);
    netlink::create_veth(sb.host_link, "eth0", fd);
    ::close(fd);
    netlink::add_address(sb.host_link, sb.gateway, 24);
    netlink::set_link_up(sb.host_link);
    after = netlink::ifindex_of(sb.host_link);
  }
  {
    netlink::NetnsGuard in(sb.netns);
    netlink::add_address("eth0", sb.address, 24);
    netlink::set_link_up("eth0");
    netlink::add_route({net::Ipv4{0}, 0}, sb.gateway);
  }
  ASSERT_NE(after, before);
  const auto took = within(2s, [&] {
    netlink::NetnsGuard in(topo_.node_netns);
    return loader::tc_program_id(static_cast<int>(after), loader::TcDirection::ingress) != 0;
  });
  ASSERT_TRUE(took) << "no tc program on the re-created " << sb.host_link << " within 2 s with the timer at 300 s: "
                    << slurp(daemon_log());
  std::printf("sandbox interface re-created: tc program back after %lld ms\n", static_cast<long long>(took->count()));
  EXPECT_NE(slurp(daemon_log()).find("interface " + sb.host_link), std::string::npos) << slurp(daemon_log());
  EXPECT_TRUE(kernel_holds_store());
  EXPECT_TRUE(forwarding());
}

// A copy of the state database (VACUUM INTO: the write-ahead log's commits included), 0600.
void copy_store(const std::string& from, const std::string& to) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(from.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  const std::string sql = "VACUUM INTO '" + to + "'";
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string why = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << why;
  ::chmod(to.c_str(), 0600);
}

// Item: store faults. A corrupt file and a missing one: the kernel keeps the last good
// programming (still forwarding), the status says why, and when a good file is back (here
// with a sandbox stopped meanwhile) the daemon programs it. Never a partial state.
TEST_P(DaemonTest, StoreFaultsKeepTheLastProgrammingAndRecover) {
  start_daemon();
  const std::string good = cfg_.dir + "/good.db";
  ASSERT_NO_FATAL_FAILURE(copy_store(state(), good));
  {
    auto store = store::SqliteStore::open(good, {.create = false});
    auto tx = store->begin_write();
    model::set_sandbox_state(*tx, "tcp-echo-echo-0", store::SandboxState::stopped, now_ms());
    tx->commit();
  }
  const std::string garbage = cfg_.dir + "/garbage.db";
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 131 + 7) & 0xff));
  }
  ::chmod(garbage.c_str(), 0600);
  const std::string kept = cfg_.dir + "/kept.db";

  struct Fault {
    const char* name;
    std::function<void()> make;
  };
  const std::vector<Fault> faults = {
      {"corrupt", [&] { fs::rename(garbage, state()); }},
      {"missing", [&] { fs::remove(state()); }},
  };
  ASSERT_NO_FATAL_FAILURE(copy_store(state(), kept));
  for (const Fault& fault : faults) {
    SCOPED_TRACE(fault.name);
    fault.make();
    ASSERT_TRUE(within(5s, [&] {
      const auto s = status();
      return s && !s->store_error.empty() && !s->ready;
    })) << slurp(daemon_log());
    std::printf("%s store: status says \"%s\"\n", fault.name, status()->store_error.c_str());
    EXPECT_TRUE(forwarding()) << "the last good programming is gone";
    EXPECT_TRUE(daemon_->running());
    // Back to the state before the fault (the next fault starts from it).
    if (&fault != &faults.back()) {
      ASSERT_NO_FATAL_FAILURE(copy_store(kept, cfg_.dir + "/restore.db"));
      fs::rename(cfg_.dir + "/restore.db", state());
      ASSERT_TRUE(within(10s, [&] {
        const auto s = status();
        return s && s->store_error.empty() && s->ready;
      })) << slurp(daemon_log());
    }
  }
  // The good file, with the sandbox stopped, put in place: recovered and programmed.
  fs::rename(good, state());
  const std::uint64_t generation = store_generation();
  ASSERT_TRUE(within(10s, [&] {
    const auto s = status();
    return s && s->store_error.empty() && s->ready && s->programmed_generation == generation;
  })) << slurp(daemon_log());
  EXPECT_TRUE(kernel_holds_store());
  const auto who = answers(20);
  EXPECT_EQ(who.count("tcp-echo-echo-0"), 0u);
  EXPECT_EQ(who.count("tcp-echo-echo-1"), 20u);
}

// This thread in a mount namespace of its own, mounts private to it (not propagated to the
// host's), back in the original one at the end. Processes it spawns share it: a file system
// the test mounts is seen by the daemon and the CLI it starts, and by nothing else.
class PrivateMounts {
 public:
  PrivateMounts() : original_(::open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC)) {
    if (!original_) throw std::system_error(errno, std::generic_category(), "open mount namespace");
    if (::unshare(CLONE_NEWNS | CLONE_FS) != 0) throw std::system_error(errno, std::generic_category(), "unshare");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw std::system_error(errno, std::generic_category(), "make mounts private");
  }
  ~PrivateMounts() {
    if (::setns(original_.get(), CLONE_NEWNS) != 0) std::perror("back to the original mount namespace");
  }
  PrivateMounts(const PrivateMounts&) = delete;
  PrivateMounts& operator=(const PrivateMounts&) = delete;

 private:
  loader::UniqueFd original_;
};

// A small tmpfs at `dir` (created), unmounted and removed at the end.
class SmallFileSystem {
 public:
  SmallFileSystem(std::string dir, const char* size) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    const std::string options = std::string("size=") + size + ",mode=0700";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0)
      throw std::system_error(errno, std::generic_category(), "mount tmpfs on " + dir_);
  }
  ~SmallFileSystem() {
    ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove(dir_, ec);
  }
  SmallFileSystem(const SmallFileSystem&) = delete;
  SmallFileSystem& operator=(const SmallFileSystem&) = delete;
  bool remount(bool read_only) {
    const unsigned long flags = read_only ? MS_REMOUNT | MS_RDONLY : MS_REMOUNT;
    return ::mount(nullptr, dir_.c_str(), nullptr, flags, nullptr) == 0;
  }
  // Writes a filler file until the file system is full; removed by `free_space`.
  void fill() {
    const std::string filler = dir_ + "/filler";
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    const std::string block(4096, 'f');
    for (int i = 0; i < 100000 && ::write(fd, block.data(), block.size()) > 0; ++i) {
    }
    const int err = errno;
    ::close(fd);
    ASSERT_EQ(err, ENOSPC);
  }
  void free_space() { fs::remove(dir_ + "/filler"); }

 private:
  std::string dir_;
};

// Item: store faults, the file system under the store. Full: a write is refused with a message
// that says so and changes nothing; the daemon keeps the programming, says in the API and the
// metrics that it cannot write its status record, and programs the next write once space is
// back. Read-only: a daemon (re)started on it comes up and forwards from the store it can still
// read, a write is refused as read-only, and once the file system is writable again the next
// write reaches the kernel.
TEST_P(DaemonTest, AFullOrReadOnlyFileSystemUnderTheStoreRefusesWritesAndKeepsTheProgramming) {
  PrivateMounts mounts;
  SmallFileSystem small(cfg_.dir + "/small", "2m");
  ASSERT_NO_FATAL_FAILURE(copy_store(state(), cfg_.dir + "/small/state.db"));
  state_dir_ = cfg_.dir + "/small";
  start_daemon();
  const std::string socket = cfg_.dir + "/api.sock";
  const auto api_status = [&] {
    const auto reply = portway::testing::unix_http(socket, portway::testing::http_request("GET", "/v1/status"));
    return reply.status == 200 ? nlohmann::json::parse(reply.body) : nlohmann::json();
  };
  // /metrics is served on the lab node's own loopback, in its namespace.
  const auto metrics = [&] {
    netlink::NetnsGuard in(topo_.node_netns);
    return portway::testing::tcp_http("127.0.0.1", metrics_port(), portway::testing::http_request("GET", "/metrics")).body;
  };

  // Full.
  ASSERT_NO_FATAL_FAILURE(small.fill());
  const std::uint64_t before = store_generation();
  EXPECT_EQ(cli({"sandbox", "set", "--state", state(), "tcp-echo-echo-0", "--to", "stopped"}), 2) << slurp(cli_log());
  EXPECT_NE(slurp(cli_log()).find("full"), std::string::npos) << slurp(cli_log());
  EXPECT_EQ(store_generation(), before) << "a refused write changed the store";
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);  // a check: the status record is due again
  ASSERT_TRUE(within(10s, [&] {
    const auto j = api_status();
    return j.contains("daemon") && !j["daemon"]["status_record_error"].get<std::string>().empty();
  })) << api_status().dump() << slurp(daemon_log());
  std::printf("full: status_record_error \"%s\"\n", api_status()["daemon"]["status_record_error"].get<std::string>().c_str());
  EXPECT_NE(metrics().find("portway_status_record_writable 0"), std::string::npos) << metrics();
  EXPECT_TRUE(forwarding());
  EXPECT_EQ(api_status()["daemon"]["ready"], true) << "the kernel still holds the store";

  small.free_space();
  ASSERT_EQ(cli({"sandbox", "set", "--state", state(), "tcp-echo-echo-0", "--to", "stopped"}), 0) << slurp(cli_log());
  const std::uint64_t after = store_generation();
  ASSERT_TRUE(within(10s, [&] {
    const auto s = status();
    return s && s->programmed_generation == after;
  })) << slurp(daemon_log());
  EXPECT_TRUE(api_status()["daemon"]["status_record_error"].get<std::string>().empty());
  EXPECT_NE(metrics().find("portway_status_record_writable 1"), std::string::npos);
  auto who = answers(10);
  EXPECT_EQ(who.count("tcp-echo-echo-0"), 0u);
  EXPECT_EQ(who.count("tcp-echo-echo-1"), 10u);

  // Read-only: the daemon restarted on it (files open for writing would keep the remount from
  // happening under a running daemon).
  daemon_->stop(3000);
  daemon_.reset();
  ASSERT_TRUE(small.remount(true)) << std::strerror(errno);
  daemon_.emplace(NsProcess::spawn(topo_.node_netns,
                                   {PORTWAY_BINARY, "daemon", "--state", state(), "--node", daemon_node()},
                                   daemon_log()));
  ASSERT_TRUE(within(20s, [&] {
    const auto j = api_status();
    return j.contains("daemon") && j["daemon"]["pid"] == daemon_->pid() && j["daemon"]["ready"] == true;
  })) << api_status().dump() << slurp(daemon_log());
  EXPECT_NE(api_status()["daemon"]["status_record_error"].get<std::string>(), "");
  EXPECT_EQ(cli({"sandbox", "set", "--state", state(), "tcp-echo-echo-0", "--to", "running"}), 2) << slurp(cli_log());
  EXPECT_NE(slurp(cli_log()).find("read-only"), std::string::npos) << slurp(cli_log());
  who = answers(10);
  EXPECT_EQ(who.count("tcp-echo-echo-1"), 10u) << "the programming changed under a refused write";

  ASSERT_TRUE(small.remount(false)) << std::strerror(errno);
  ASSERT_EQ(cli({"sandbox", "set", "--state", state(), "tcp-echo-echo-0", "--to", "running"}), 0) << slurp(cli_log());
  const std::uint64_t last = store_generation();
  ASSERT_TRUE(within(10s, [&] {
    const auto j = api_status();
    return j.contains("daemon") && j["programmed_generation"] == last;
  })) << api_status().dump() << slurp(daemon_log());
  who = answers(20);
  EXPECT_GT(who.count("tcp-echo-echo-0"), 0u) << "the sandbox set running again gets no flow";
  daemon_->stop(3000);
  daemon_.reset();
}

// A writer holding the store's write lock (an open write transaction, for longer than the
// daemon's busy timeout) does not stall the daemon: WAL readers never wait for the writer, so
// the daemon keeps reading the last commit and programs the writer's change once committed.
TEST_P(DaemonTest, AWriterHoldingTheLockDoesNotStallTheDaemon) {
  start_daemon();
  auto store = store::SqliteStore::open(state(), {.create = false});
  auto tx = store->begin_write();
  model::set_sandbox_state(*tx, "tcp-echo-echo-0", store::SandboxState::stopped, now_ms());
  // Another process commits nothing meanwhile, but the daemon is asked to look (SIGHUP reads
  // the store afresh) while the lock is held for 3 s.
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  std::this_thread::sleep_for(3s);
  auto s = status();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->store_error.empty()) << s->store_error;
  EXPECT_TRUE(s->ready);
  EXPECT_TRUE(forwarding());
  tx->commit();
  const std::uint64_t generation = store_generation();
  ASSERT_TRUE(within(3s, [&] {
    const auto now = status();
    return now && now->programmed_generation == generation;
  })) << slurp(daemon_log());
  EXPECT_TRUE(kernel_holds_store());
}

// sd_notify: READY=1 once the first programming succeeded, then STATUS= lines.
TEST_P(DaemonTest, ReportsReadyToSystemd) {
  const std::string socket_path = cfg_.dir + "/notify.sock";
  loader::UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(sock);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
  ASSERT_EQ(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{20, 0};
  ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setenv("NOTIFY_SOCKET", socket_path.c_str(), 1);
  daemon_.emplace(NsProcess::spawn(topo_.node_netns,
                                   {PORTWAY_BINARY, "daemon", "--state", state(), "--node", daemon_node(),
                                    "--log-format", "json"},
                                   daemon_log()));
  ::unsetenv("NOTIFY_SOCKET");
  char buf[4096];
  const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
  ASSERT_GT(n, 0) << "no notification within 20 s: " << slurp(daemon_log());
  const std::string first(buf, static_cast<std::size_t>(n));
  EXPECT_TRUE(first.starts_with("READY=1\nSTATUS=" + dataplane_name(GetParam()) + ": programmed generation"))
      << first;
  const auto s = status();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->ready) << "READY=1 before the first programming";
  // The log is one JSON object a line.
  std::ifstream log(daemon_log());
  bool started_line = false;
  int lines = 0;
  for (std::string line; std::getline(log, line); ++lines) {
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(parsed.is_object() && parsed.contains("time") && parsed.contains("level") && parsed.contains("msg"))
        << line;
    started_line = started_line || parsed["msg"].get<std::string>().starts_with("daemon pid ");
  }
  EXPECT_GT(lines, 0);
  EXPECT_TRUE(started_line) << slurp(daemon_log());
}

// The loop serves the local API and metrics: GET /v1/status has the store and programmed
// generations and the live daemon status; a sandbox stopped through the API reaches the kernel
// through the store watch like any other writer's change; /readyz and /metrics answer.
TEST_P(DaemonTest, ServesTheApiAndMetrics) {
  start_daemon();
  const std::string socket = cfg_.dir + "/api.sock";
  auto reply = portway::testing::unix_http(socket, portway::testing::http_request("GET", "/v1/status"));
  ASSERT_EQ(reply.status, 200) << reply.body << slurp(daemon_log());
  auto j = nlohmann::json::parse(reply.body);
  EXPECT_EQ(j["store_generation"], j["programmed_generation"]) << reply.body;
  EXPECT_EQ(j["daemon"]["pid"], daemon_->pid()) << reply.body;
  EXPECT_EQ(j["daemon"]["ready"], true) << reply.body;

  reply = portway::testing::unix_http(socket, portway::testing::http_request("PATCH", "/v1/sandboxes/tcp-echo-echo-0",
                                                                              R"({"state":"stopped"})"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::uint64_t generation = store_generation();
  ASSERT_TRUE(within(2s, [&] {
    const auto s = status();
    return s && s->programmed_generation == generation;
  })) << slurp(daemon_log());
  EXPECT_TRUE(kernel_holds_store());
  EXPECT_EQ(answers(10).count("tcp-echo-echo-0"), 0u);

  netlink::NetnsGuard in(topo_.node_netns);
  reply = portway::testing::tcp_http("127.0.0.1", 9462, portway::testing::http_request("GET", "/readyz"));
  EXPECT_EQ(reply.status, 200) << reply.body;
  reply = portway::testing::tcp_http("127.0.0.1", 9462, portway::testing::http_request("GET", "/metrics"));
  ASSERT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("portway_programmed_generation " + std::to_string(generation)), std::string::npos)
      << reply.body;
}

INSTANTIATE_TEST_SUITE_P(BothDataplanes, DaemonTest,
                         ::testing::Values(config::DataplaneChoice::xdp, config::DataplaneChoice::nft),
                         [](const ::testing::TestParamInfo<config::DataplaneChoice>& p) { return dataplane_name(p.param); });

}  // namespace
}  // namespace portway::lab
