// Who owns the node's dataplane, end to end with the portway binary on a lab node: one writer
// per pin folder (concurrent syncs never interleave), interfaces the settings stop naming lose
// portway's programs, deleted pins are repaired, a bad setting changes nothing, map sizes are
// reported, and a run whose pins would die with it (`ip netns exec`) is refused. Each test has
// its own lab (namespaces, pin folder, cgroup, state directory), removed when it ends.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <thread>

#include "agent/sync.h"
#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/xdp/pin_layout.h"
#include "dataplane/xdp/socket_hooks.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/lab.h"
#include "lab/ns_process.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "loader/cgroup_link.h"
#include "loader/kernel_objects.h"
#include "loader/prog_info.h"
#include "loader/tc_filter.h"
#include "loader/unique_fd.h"
#include "loader/xdp_link.h"
#include "model/app_ops.h"
#include "model/sandbox_ops.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "store/sqlite_store.h"
#include "lab_test_config.h"
#include "support/root.h"
#include "tcp_connection.h"

namespace portway::lab {
namespace {

namespace fs = std::filesystem;
using dataplane::xdp::XdpDataplane;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint32_t xdp_prog_id(const std::string& ifname) {
  bpf_xdp_query_opts q{};
  q.sz = sizeof q;
  const unsigned idx = netlink::ifindex_of(ifname);
  if (idx == 0 || bpf_xdp_query(static_cast<int>(idx), 0, &q) != 0) return 0;
  return q.prog_id;
}

// The name of the program on the interface's tc ingress, "" when there is none.
std::string tc_ingress_program(const std::string& ifname) {
  const std::uint32_t id = loader::tc_program_id(static_cast<int>(netlink::ifindex_of(ifname)),
                                                 loader::TcDirection::ingress);
  if (id == 0) return "";
  loader::UniqueFd fd(bpf_prog_get_fd_by_id(id));
  return fd ? loader::program_info(fd.get()).name : "";
}

class NodeOwnershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    cfg_ = itest::lab_test_config("pwo", "owntest");
    lab_down(cfg_);  // a crashed earlier run of this pid's prefix
    settings_ = lab_node_settings(cfg_);
    ASSERT_FALSE(settings_.cgroup.empty()) << "no cgroup v2 hierarchy mounted on this machine";
    up_ = true;
    lab_up(cfg_, config::DataplaneChoice::xdp);
    topo_ = plan_topology({cfg_.prefix, 0});
  }

  void TearDown() override {
    if (!up_) return;
    lab_down(cfg_);
    EXPECT_FALSE(netlink::named_netns_exists(topo_.node_netns));
    EXPECT_FALSE(fs::exists(settings_.bpffs_dir)) << "pins left behind";
    EXPECT_FALSE(fs::exists(cfg_.dir)) << "lab directory left behind";
  }

  std::string state() const { return cfg_.dir + "/state.db"; }
  std::string node_file() const { return cfg_.dir + "/node.toml"; }
  std::string log() const { return cfg_.dir + "/cli.log"; }

  std::vector<std::string> sync_args(const std::string& dataplane, const std::string& state_db = "",
                                     const std::string& node = "") const {
    return {PORTWAY_BINARY, "sync", "--state", state_db.empty() ? state() : state_db, "--node",
            node.empty() ? node_file() : node, "--dataplane", dataplane};
  }

  // Runs argv in the node namespace (entered with setns, mounts kept); its exit status.
  int run(std::vector<std::string> argv, const std::string& netns = "") {
    fs::remove(log());
    NsProcess p = NsProcess::spawn(netns.empty() ? topo_.node_netns : netns, argv, log());
    return p.wait_exit(std::chrono::seconds(60)).value_or(-1);
  }

  // The lab's node file with `edit` applied to its text, written next to it.
  std::string node_variant(const std::string& name, const std::function<void(std::string&)>& edit) {
    std::string text = slurp(node_file());
    edit(text);
    const std::string path = cfg_.dir + "/" + name + ".toml";
    std::ofstream(path) << text;
    chmod(path.c_str(), 0600);
    return path;
  }
  static void replace_line(std::string& text, const std::string& key, const std::string& line) {
    const auto at = text.find(key + " = ");
    ASSERT_NE(at, std::string::npos) << key;
    text.replace(at, text.find('\n', at) - at, line);
  }

  state::DataplaneState compiled(const std::string& state_db) {
    auto store = store::SqliteStore::open(state_db, {.create = false});
    return agent::compile_store(store.get());
  }

  LabConfig cfg_;
  config::NodeSettings settings_;
  Topology topo_;
  bool up_ = false;
};

// Item: one writer per pin folder. 2 to 4 processes at a time sync three different stores
// with either dataplane; after each round the kernel holds exactly one store's compiled
// state on exactly one dataplane, never a mix.
TEST_F(NodeOwnershipTest, ConcurrentSyncsOfDifferentStoresAndDataplanesNeverInterleave) {
  // Three stores: the lab's, one with a sandbox stopped, one with an app deleted.
  const std::vector<std::string> stores = {state(), cfg_.dir + "/stopped.db", cfg_.dir + "/deleted.db"};
  for (std::size_t i = 1; i < stores.size(); ++i) fs::copy_file(state(), stores[i]);
  {
    auto store = store::SqliteStore::open(stores[1], {.create = false});
    auto tx = store->begin_write();
    const auto sandboxes = tx->sandboxes();
    ASSERT_FALSE(sandboxes.empty());
    model::set_sandbox_state(*tx, sandboxes.front().id, store::SandboxState::stopped, now_ms());
    tx->commit();
  }
  {
    auto store = store::SqliteStore::open(stores[2], {.create = false});
    auto tx = store->begin_write();
    model::delete_app(*tx, "irc");
    tx->commit();
  }
  std::vector<state::DataplaneState> desired;
  for (const auto& s : stores) desired.push_back(compiled(s));
  ASSERT_NE(desired[0], desired[1]);
  ASSERT_NE(desired[0], desired[2]);

  constexpr int kRounds = 20;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  int processes = 0, xdp_wins = 0, nft_wins = 0, round = 0;
  for (; round < kRounds && std::chrono::steady_clock::now() < deadline; ++round) {
    const int n = 2 + round % 3;
    std::vector<NsProcess> racers;
    for (int i = 0; i < n; ++i) {
      auto args = sync_args(rng() % 2 ? "xdp" : "nft", stores[rng() % stores.size()]);
      args.insert(args.end(), {"--wait", "60"});
      racers.push_back(NsProcess::spawn(topo_.node_netns, args, cfg_.dir + "/race.log"));
    }
    for (auto& r : racers) EXPECT_EQ(r.wait_exit(std::chrono::seconds(90)).value_or(-1), 0) << slurp(cfg_.dir + "/race.log");
    processes += n;

    netlink::NetnsGuard in(topo_.node_netns);
    const bool xdp = XdpDataplane(settings_).is_installed();
    dataplane::nft::NftDataplane nft(settings_);
    const bool nft_installed = !nft.installed().frontends().empty() || !nft.installed().node_ports().empty();
    EXPECT_NE(xdp, nft_installed) << "round " << round << ": exactly one dataplane";
    bool matches = false;
    for (const auto& d : desired) {
      if (xdp) {
        matches = matches || XdpDataplane(settings_).installed() == d;
      } else {
        dataplane::nft::NftDataplane reader(settings_);
        reader.learn_names(d);
        matches = matches || reader.installed() == d;
      }
    }
    EXPECT_TRUE(matches) << "round " << round << ": the " << (xdp ? "xdp" : "nft")
                         << " state is none of the stores' compiled states";
    (xdp ? xdp_wins : nft_wins)++;
  }
  EXPECT_EQ(round, kRounds) << "the rounds did not finish in time";
  RecordProperty("rounds", round);
  RecordProperty("processes", processes);
  std::cout << "[ figures ] " << round << " rounds, " << processes << " syncs, last writer xdp " << xdp_wins
            << " / nft " << nft_wins << " times, 0 mixed states expected\n";
}

TEST_F(NodeOwnershipTest, ASyncFindingThePinFolderLockedWaitsThenFailsWithExit2NamingThePid) {
  std::optional<loader::PinFolderLock> held(agent::lock_node(settings_, std::chrono::milliseconds(0)));
  auto args = sync_args("xdp");
  args.insert(args.end(), {"--wait", "0.3"});
  EXPECT_EQ(run(args), 2);
  EXPECT_NE(slurp(log()).find("in use by pid " + std::to_string(getpid())), std::string::npos) << slurp(log());

  // A longer wait outlasts the holder.
  args.back() = "20";
  NsProcess waiting = NsProcess::spawn(topo_.node_netns, args, log());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(waiting.running()) << "the sync must wait while the lock is held";
  held.reset();
  EXPECT_EQ(waiting.wait_exit(std::chrono::seconds(30)).value_or(-1), 0) << slurp(log());
}

// Item: interfaces the settings stop naming lose portway's programs, and only those.
TEST_F(NodeOwnershipTest, InterfacesNoLongerNamedLoseTheirPrograms) {
  const Topology t = plan_topology({cfg_.prefix, static_cast<unsigned>(10)});
  const std::string sb0 = t.sandboxes.at(0).host_link;
  // sb0's veth as a second uplink: it gets XDP, and the uplinks' tc hand-off in place of the
  // sandbox filter it had.
  const std::string as_uplink = node_variant("uplink", [&](std::string& text) {
    replace_line(text, "uplinks", "uplinks = [\"" + t.uplink + "\", \"" + sb0 + "\"]");
    replace_line(text, "sandbox_interfaces", "sandbox_interfaces = [\"sb[1-9]*\"]");
  });
  ASSERT_EQ(run(sync_args("xdp", "", as_uplink)), 0) << slurp(log());
  {
    netlink::NetnsGuard in(t.node_netns);
    EXPECT_NE(xdp_prog_id(sb0), 0u);
    EXPECT_EQ(tc_ingress_program(sb0), "pw_tc_uplink");
  }
  // Back to the lab's settings: sb0 is a sandbox interface again.
  ASSERT_EQ(run(sync_args("xdp")), 0) << slurp(log());
  EXPECT_NE(slurp(log()).find("detached XDP from " + sb0 + " (no longer an uplink)"), std::string::npos) << slurp(log());
  {
    netlink::NetnsGuard in(t.node_netns);
    EXPECT_EQ(xdp_prog_id(sb0), 0u) << "XDP left on a former uplink";
    EXPECT_NE(xdp_prog_id(t.uplink), 0u);
    EXPECT_EQ(tc_ingress_program(sb0), "pw_tc_sandbox") << "the former uplink's hand-off was released with the sandbox filter";
    EXPECT_FALSE(fs::exists(dataplane::xdp::PinLayout{settings_.bpffs_dir}.xdp_link(sb0)));
  }
  // The sandbox behind it reaches a Service of another app.
  const state::DataplaneState desired = compiled(state());
  auto store = store::SqliteStore::open(state(), {.create = false});
  const auto sandboxes = store->begin_read()->sandboxes();
  const auto& first = *std::find_if(sandboxes.begin(), sandboxes.end(),
                                    [&](const auto& sb) { return sb.ipv4 == t.sandboxes.at(0).address; });
  const std::string own_set = "svc/" + first.app + "/" + first.service;
  const auto other = std::find_if(desired.frontends().begin(), desired.frontends().end(), [&](const auto& f) {
    return f.backend_set != own_set && f.key.protocol == config::Protocol::tcp &&
           std::holds_alternative<net::Ipv4>(f.key.address);
  });
  ASSERT_NE(other, desired.frontends().end());
  const ProbeResult r = tcp_probe(t.sandboxes.at(0).netns, state::to_string(other->key.address), other->key.port);
  EXPECT_EQ(r.status, ProbeStatus::ok) << state::to_string(other->key) << " from " << sb0 << ": " << r.error;

  // No sandbox interface named any more: every tc filter of ours goes.
  const std::string none = node_variant("none", [&](std::string& text) {
    replace_line(text, "sandbox_interfaces", "sandbox_interfaces = [\"nomatch*\"]");
  });
  ASSERT_EQ(run(sync_args("xdp", "", none)), 0) << slurp(log());
  EXPECT_NE(slurp(log()).find("(no longer a sandbox interface)"), std::string::npos) << slurp(log());
  netlink::NetnsGuard in(t.node_netns);
  for (const auto& link : netlink::list_links()) {
    if (link.name.rfind("sb", 0) != 0) continue;
    EXPECT_EQ(loader::tc_program_id(static_cast<int>(link.ifindex), loader::TcDirection::ingress), 0u) << link.name;
  }
}

// An uplink renamed (and the settings with it): its XDP link is kept under the new name, not
// detached with the old name's pin nor attached twice.
TEST_F(NodeOwnershipTest, ARenamedUplinkKeepsItsXdpLink) {
  const std::string renamed = "pwr" + std::to_string(getpid() % 100000);
  const dataplane::xdp::PinLayout pins{settings_.bpffs_dir};
  std::uint32_t before = 0;
  {
    loader::UniqueFd link = loader::open_pinned(pins.xdp_link(topo_.uplink));
    ASSERT_TRUE(link);
    before = loader::link_id(link.get());
  }
  for (const std::string& cmd : {"link set dev " + topo_.uplink + " down",
                                 "link set dev " + topo_.uplink + " name " + renamed,
                                 "link set dev " + renamed + " up"}) {
    std::vector<std::string> argv{"/usr/sbin/ip"};
    std::istringstream words(cmd);
    for (std::string w; words >> w;) argv.push_back(w);
    ASSERT_EQ(run(argv), 0) << cmd << ": " << slurp(log());
  }
  const std::string node = node_variant("renamed", [&](std::string& text) {
    replace_line(text, "uplinks", "uplinks = [\"" + renamed + "\"]");
  });
  ASSERT_EQ(run(sync_args("xdp", "", node)), 0) << slurp(log());
  EXPECT_NE(slurp(log()).find("kept under its new name"), std::string::npos) << slurp(log());
  loader::UniqueFd link = loader::open_pinned(pins.xdp_link(renamed));
  ASSERT_TRUE(link);
  EXPECT_EQ(loader::link_id(link.get()), before) << "the same link, not a new attachment";
  EXPECT_FALSE(fs::exists(pins.xdp_link(topo_.uplink)));
  {
    netlink::NetnsGuard in(topo_.node_netns);
    EXPECT_NE(xdp_prog_id(renamed), 0u);
  }
  // (Traffic is not probed: taking the lab's uplink down drops the node's routes through it.)
}

// Item: a deleted pin is repaired: the running objects are re-pinned (maps from the programs'
// map ids, held links found by id), so flows and attachments stay as they are.
TEST_F(NodeOwnershipTest, DeletedPinsAreRepairedWithoutLosingFlows) {
  const dataplane::xdp::PinLayout pins{settings_.bpffs_dir};
  const std::string node = net::to_string(topo_.node_address);
  itest::TcpConnection conn(topo_.client_netns, node, 7000);  // node port of tcp-echo
  ASSERT_TRUE(conn.connected());
  const ProbeResult before = conn.exchange("WHO\n");
  ASSERT_EQ(before.status, ProbeStatus::ok) << before.error;

  // Map pins: the programs still use the maps.
  ASSERT_TRUE(fs::remove(pins.map("pw_flows")));
  ASSERT_TRUE(fs::remove(pins.map("pw_frontend_stats")));
  ASSERT_TRUE(fs::remove(pins.map("pw_sock_config")));
  ASSERT_TRUE(fs::remove(pins.map("pw_conn_sets")));
  EXPECT_EQ(run({PORTWAY_BINARY, "status", "--state", state(), "--node", node_file()}), 0);
  EXPECT_NE(slurp(log()).find("active dataplane: xdp"), std::string::npos) << slurp(log());
  ASSERT_EQ(run(sync_args("auto")), 0) << slurp(log());
  const std::string repaired = slurp(log());
  EXPECT_NE(repaired.find("dataplane: xdp"), std::string::npos) << repaired;
  for (const char* map : {"pw_flows", "pw_frontend_stats", "pw_sock_config", "pw_conn_sets"}) {
    EXPECT_NE(repaired.find(std::string("re-pinned the map ") + map), std::string::npos) << repaired;
    EXPECT_TRUE(fs::exists(pins.map(map))) << map;
  }
  const ProbeResult after = conn.exchange("WHO\n");
  EXPECT_EQ(after.status, ProbeStatus::ok) << after.error;
  EXPECT_EQ(after.reply, before.reply) << "the established flow keeps its backend";

  // A control program's pin (never attached: nothing to re-pin it from): the programs are
  // loaded again, which pins it, and the connection keeps its backend.
  ASSERT_TRUE(fs::remove(pins.conn_ctl_prog("4")));
  ASSERT_EQ(run(sync_args("xdp")), 0) << slurp(log());
  EXPECT_NE(slurp(log()).find("loaded the fast-path programs"), std::string::npos) << slurp(log());
  EXPECT_TRUE(fs::exists(pins.conn_ctl_prog("4")));
  const ProbeResult reloaded = conn.exchange("WHO\n");
  EXPECT_EQ(reloaded.status, ProbeStatus::ok) << reloaded.error;
  EXPECT_EQ(reloaded.reply, before.reply) << "the established flow keeps its backend";

  // Link pins whose links something still holds: found by id and re-pinned, not doubled.
  {
    netlink::NetnsGuard in(topo_.node_netns);
    loader::UniqueFd xdp_link = loader::open_pinned(pins.xdp_link(topo_.uplink));
    loader::UniqueFd hook = loader::open_pinned(pins.cgroup_link("connect4"));
    ASSERT_TRUE(xdp_link && hook);
    ASSERT_TRUE(fs::remove(pins.xdp_link(topo_.uplink)));
    ASSERT_TRUE(fs::remove(pins.cgroup_link("connect4")));
    ASSERT_EQ(run(sync_args("xdp")), 0) << slurp(log());
    EXPECT_NE(slurp(log()).find("re-pinned the XDP link of " + topo_.uplink), std::string::npos) << slurp(log());
    EXPECT_NE(slurp(log()).find("re-pinned the socket hook connect4"), std::string::npos) << slurp(log());
    EXPECT_EQ(loader::cgroup_program_count(settings_.cgroup, BPF_CGROUP_INET4_CONNECT), 1u);
  }
  // A link pin that nothing holds took its attachment with it: attached again.
  ASSERT_TRUE(fs::remove(pins.xdp_link(topo_.uplink)));
  ASSERT_TRUE(fs::remove(pins.xdp_prog()));
  ASSERT_EQ(run(sync_args("xdp")), 0) << slurp(log());
  {
    netlink::NetnsGuard in(topo_.node_netns);
    EXPECT_NE(xdp_prog_id(topo_.uplink), 0u);
    EXPECT_EQ(XdpDataplane(settings_).installed(), compiled(state()));
  }
  const ProbeResult fresh = tcp_probe(topo_.client_netns, node, 7000);
  EXPECT_EQ(fresh.status, ProbeStatus::ok) << fresh.error;
  ASSERT_EQ(run(sync_args("xdp")), 0) << slurp(log());
  EXPECT_NE(slurp(log()).find("no changes"), std::string::npos) << slurp(log());

  // The metadata maps (no program uses them) are gone with their pins: the names come back
  // from the store, the programmed entries stay.
  ASSERT_TRUE(fs::remove(pins.map("pw_meta_sets")));
  ASSERT_TRUE(fs::remove(pins.map("pw_meta_frontends")));
  ASSERT_EQ(run(sync_args("xdp")), 0) << slurp(log());
  EXPECT_NE(slurp(log()).find("installed frontends again from the store"), std::string::npos) << slurp(log());
  EXPECT_NE(slurp(log()).find("no changes"), std::string::npos) << slurp(log());
  {
    netlink::NetnsGuard in(topo_.node_netns);
    EXPECT_EQ(XdpDataplane(settings_).installed(), compiled(state()));
  }
  const ProbeResult kept = conn.exchange("WHO\n");
  EXPECT_EQ(kept.status, ProbeStatus::ok) << kept.error;
  EXPECT_EQ(kept.reply, before.reply) << "the established flow keeps its backend";
}

// Item: a failed `sync --dataplane xdp` (the cgroup setting names a directory that is not a
// cgroup) changes nothing: the socket hooks stay where they were.
TEST_F(NodeOwnershipTest, ASyncWithABadCgroupSettingKeepsTheWorkingSocketHooks) {
  const dataplane::xdp::PinLayout pins{settings_.bpffs_dir};
  const auto before = dataplane::xdp::socket_hook_attachments(pins);
  ASSERT_EQ(before.size(), dataplane::xdp::kSocketHooks.size());
  const std::string bad = node_variant("bad-cgroup", [&](std::string& text) {
    replace_line(text, "cgroup", "cgroup = \"" + cfg_.dir + "\"");
  });
  EXPECT_EQ(run(sync_args("xdp", "", bad)), 2);
  EXPECT_NE(slurp(log()).find("is not a cgroup v2 directory"), std::string::npos) << slurp(log());
  const auto after = dataplane::xdp::socket_hook_attachments(pins);
  ASSERT_EQ(after.size(), before.size()) << "socket hooks were removed";
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].cgroup_id, before[i].cgroup_id) << after[i].hook;
  for (const auto& hook : dataplane::xdp::kSocketHooks)
    EXPECT_EQ(loader::cgroup_program_count(settings_.cgroup, hook.attach_type), 1u) << hook.name;
}

// Item: [maps] sizes that differ from the running maps are reported on every sync, with the
// procedure; the running fast path is left as it is.
TEST_F(NodeOwnershipTest, ChangedMapSizesAreReported) {
  const std::string bigger = node_variant("bigger", [&](std::string& text) {
    replace_line(text, "backends", "backends = 8192");
  });
  ASSERT_EQ(run(sync_args("xdp", "", bigger)), 0) << slurp(log());
  const std::string out = slurp(log());
  EXPECT_NE(out.find("[maps] backends = 8192 in the node settings, but the running fast path's map holds 4096"),
            std::string::npos) << out;
  EXPECT_NE(out.find("portway sync --dataplane nft"), std::string::npos) << out;
  ASSERT_EQ(run(sync_args("xdp")), 0) << slurp(log());
  EXPECT_EQ(slurp(log()).find("[maps]"), std::string::npos) << "no note when the sizes agree";
}

// Item: `ip netns exec` remounts /sys, so pins made under it would die with the command:
// refused, naming nsenter --net; nsenter --net keeps the node's mounts and works.
TEST_F(NodeOwnershipTest, UnderIpNetnsExecSyncIsRefusedAndUnderNsenterItWorks) {
  auto sync = sync_args("xdp");
  std::vector<std::string> under_ip{"/usr/sbin/ip", "netns", "exec", topo_.node_netns};
  under_ip.insert(under_ip.end(), sync.begin(), sync.end());
  EXPECT_EQ(run(under_ip), 2);
  EXPECT_NE(slurp(log()).find("nsenter --net"), std::string::npos) << slurp(log());
  {
    netlink::NetnsGuard in(topo_.node_netns);
    EXPECT_NE(xdp_prog_id(topo_.uplink), 0u) << "the refused run changed nothing";
  }
  std::vector<std::string> under_nsenter{"/usr/bin/nsenter", "--net=/run/netns/" + topo_.node_netns};
  under_nsenter.insert(under_nsenter.end(), sync.begin(), sync.end());
  EXPECT_EQ(run(under_nsenter, topo_.client_netns), 0) << slurp(log());
  EXPECT_NE(slurp(log()).find("no changes"), std::string::npos) << slurp(log());
}

// cgroup2 is mounted when none is, as bpffs is. Run in a child with a private mount namespace
// of its own (cgroup2 mounts unmounted there, a private /run), so the node's mounts never
// change.
TEST(Cgroup2Mount, IsMountedWhenNoneIs) {
  PORTWAY_REQUIRE_ROOT();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(10);
    if (mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0) _exit(11);
    for (int i = 0; i < 8; ++i) {
      const auto where = loader::cgroup2_mount();
      if (!where) break;
      if (umount2(where->c_str(), MNT_DETACH) != 0) _exit(12);
    }
    if (loader::cgroup2_mount()) _exit(13);
    try {
      const std::string mounted = loader::ensure_cgroup2();
      if (!loader::is_cgroup2(mounted)) _exit(14);
      if (loader::cgroup2_mount() != mounted) _exit(15);
      config::NodeSettings s;
      if (dataplane::xdp::socket_hook_cgroup(s) != mounted) _exit(16);
    } catch (...) {
      _exit(17);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "step that failed: see the _exit codes in the test";
}

}  // namespace
}  // namespace portway::lab
