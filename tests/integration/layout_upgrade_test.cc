// The upgrade of the pinned layout (docs/xdp-dataplane.md, "Pinned layout and upgrades"): a node
// whose pins have layout 1's exact shapes (pw_drops 19 and pw_events 11 entries, none of layout
// 2's maps, no pw_meta_layout) is synced by this build with established TCP flows through it;
// a failed upgrade leaves layout 1 as it was; pins of a newer layout are refused (exit 2).
//
// Layout 1's pins are made without the old binary: this build's programs are loaded and
// attached (flows, frontends, backends and Maglev tables programmed as always; their maps have
// layout 1's key and value sizes), then the two counter maps are re-created with layout 1's
// sizes and counters, every layout-2 map's pin and the version record removed, and the gen
// fields set to the 0 layout 1 wrote. The attached programs stay this build's: they keep
// counting into the layout-2-sized counter maps they were loaded with, which no pin names.
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <iostream>
#include <set>
#include <thread>

#include "dataplane/newer_layout.h"
#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/meta_maps.h"
#include "dataplane/xdp/pin_layout.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/lab.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "lab_dataplanes.h"
#include "lab_ground.h"
#include "lab_test_config.h"
#include "loader/lb_maps.h"
#include "loader/map_info.h"
#include "loader/unique_fd.h"
#include "loader/xdp_link.h"
#include "netlink/netns.h"
#include "portway/lb_abi.h"
#include "portway_process.h"
#include "support/root.h"
#include "flow_load.h"
#include "tcp_connection.h"

namespace portway::dataplane::xdp {
namespace {

namespace fs = std::filesystem;
using state::BackendSet;
using state::DataplaneState;
using state::Frontend;
using state::Member;

const net::Ipv4 kVip{0xC613000Au};  // 198.19.0.10

// Layout 1 (bpf/lib/maps.h before layout 2): the counter maps' sizes, and every map's type,
// key and value size and flags. max_entries of the others come from the node settings.
constexpr std::uint32_t kLayout1Drops = PW_DROP_INTERNAL + 1;      // 19
constexpr std::uint32_t kLayout1Events = PW_EV_FLOW_BASELINE + 1;  // 11
static_assert(kLayout1Drops == 19 && kLayout1Events == 11);

struct Shape {
  const char* name;
  std::uint32_t type, key, value, flags;
};
constexpr Shape kLayout1[] = {
    {"pw_frontends", BPF_MAP_TYPE_HASH, 8, 16, 0},
    {"pw_service_addrs", BPF_MAP_TYPE_HASH, 4, 4, 0},
    {"pw_node_addrs", BPF_MAP_TYPE_HASH, 4, 4, 0},
    {"pw_backends", BPF_MAP_TYPE_ARRAY, 4, 16, 0},
    {"pw_nexthops", BPF_MAP_TYPE_ARRAY, 4, 40, 0},
    {"pw_set_descs", BPF_MAP_TYPE_ARRAY, 4, 8, BPF_F_MMAPABLE},
    {"pw_maglev_slots", BPF_MAP_TYPE_ARRAY, 4, 64, BPF_F_MMAPABLE},
    {"pw_flows", BPF_MAP_TYPE_LRU_HASH, 16, 32, 0},
    {"pw_reverse", BPF_MAP_TYPE_LRU_HASH, 16, 16, 0},
    {"pw_fragments", BPF_MAP_TYPE_LRU_HASH, 12, 32, 0},
    {"pw_frontend_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 0},
    {"pw_backend_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32, 0},
    {"pw_drops", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 0},
    {"pw_sock_config", BPF_MAP_TYPE_ARRAY, 4, 8, 0},
    {"pw_sock_reverse", BPF_MAP_TYPE_LRU_HASH, 16, 8, 0},
    {"pw_interfaces", BPF_MAP_TYPE_HASH, 4, 8, 0},
    {"pw_events", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 0},
};

// Maps layouts 2 to 5 added (and the version record): absent from layout-1 pins.
const std::vector<std::string> kLayout2Only = {
    "pw_frontend_gens", "pw_prefilter",   "pw_frontends6", "pw_service_addrs6", "pw_node_addrs6",
    "pw_backend_addrs6", "pw_set_descs6", "pw_nexthops6",  "pw_flows6",         "pw_reverse6",
    "pw_fragments6",     "pw_sock_reverse6", "pw_meta_layout", "pw_uplinks", "pw_conn_sets", "pw_conn_sets6"};

// The program pins layout 5 added: absent from older pins.
void remove_conn_ctl_pins(const PinLayout& pins) {
  for (const char* family : {"4", "6"}) ASSERT_TRUE(fs::remove(pins.conn_ctl_prog(family))) << family;
}

std::size_t cpus() { return static_cast<std::size_t>(libbpf_num_possible_cpus()); }

// Per key, per CPU (key-major).
std::vector<std::uint64_t> read_counters(int fd, std::uint32_t entries) {
  std::vector<std::uint64_t> out(entries * cpus());
  for (std::uint32_t k = 0; k < entries; ++k) EXPECT_EQ(bpf_map_lookup_elem(fd, &k, out.data() + k * cpus()), 0);
  return out;
}

std::uint32_t map_id(int fd) {
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// Every object pinned in the folder: path -> kernel id.
std::map<std::string, std::uint32_t> pinned_objects(const std::string& dir) {
  std::map<std::string, std::uint32_t> out;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_directory()) continue;
    loader::UniqueFd fd = loader::open_pinned(entry.path().string());
    out[entry.path().string()] = fd ? map_id(fd.get()) : 0;  // a program's info starts with the id too
  }
  return out;
}

template <typename K, typename V>
std::map<std::string, V> dump_hash(int fd) {
  std::map<std::string, V> out;
  K key{}, next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    V v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0)
      out.emplace(std::string(reinterpret_cast<const char*>(&next), sizeof next), v);
    key = next;
    prev = &key;
  }
  return out;
}

// Every connection written into pw_flows and pw_reverse, as a program of layout 3 or older
// recorded its flows (gen 0 for layout 1's): the pins' flows are then where an older node has
// them. The running programs keep their own connection tables meanwhile; the caller unpins
// them.
void copy_conns_into_flows(const PinLayout& pins, bool zero_gen) {
  const auto pinned = PinnedLbMaps::open(pins);
  const loader::UniqueFd flows = loader::open_pinned(pins.map("pw_flows"));
  const loader::UniqueFd reverse = loader::open_pinned(pins.map("pw_reverse"));
  ASSERT_TRUE(pinned && flows && reverse);
  for (const auto& [ck, c] : loader::LbMaps(pinned->fds()).conns()) {
    pw_flow_key key{};
    key.saddr = ck.client_addr;
    key.daddr = c.frontend_addr;
    key.sport = ck.client_port;
    key.dport = c.frontend_port;
    key.proto = ck.proto;
    pw_flow f = c.flow;
    if (zero_gen) f.frontend_gen = 0;
    pw_reverse rev{};
    rev.frontend_addr = key.daddr;
    rev.frontend_port = key.dport;
    rev.client_addr = key.saddr;
    const pw_flow_key rk = loader::reverse_key_of(key, f);
    ASSERT_EQ(bpf_map_update_elem(reverse.get(), &rk, &rev, BPF_ANY), 0);
    ASSERT_EQ(bpf_map_update_elem(flows.get(), &key, &f, BPF_ANY), 0);
  }
}

// Re-creates a per-CPU counter map with layout 1's size and `counters` (per key, per CPU), and
// pins it in place of the one there.
void pin_layout1_counters(const PinLayout& pins, const char* name, std::uint32_t entries,
                          const std::vector<std::uint64_t>& counters) {
  const int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, name, 4, 8, entries, nullptr);
  ASSERT_GE(fd, 0) << name;
  const loader::UniqueFd map{fd};
  for (std::uint32_t k = 0; k < entries; ++k) ASSERT_EQ(bpf_map_update_elem(fd, &k, counters.data() + k * cpus(), BPF_ANY), 0);
  ASSERT_EQ(unlink(pins.map(name).c_str()), 0) << name;
  loader::pin_object(fd, pins.map(name));
}

class LayoutUpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    ground_ = std::make_unique<itest::LabGround>(itest::LabGroundSpec{
        "pwu" + std::to_string(getpid() % 100000), 2, {7000, 7100}, {7001}, 120});
    topo_ = ground_->topo();
    settings_ = itest::xdp_lab_settings(topo_, "/sys/fs/bpf/portway-layouttest-" + std::to_string(getpid()));
    pins_ = PinLayout{settings_.bpffs_dir};
  }

  void TearDown() override {
    if (!ground_) return;
    try {
      netlink::NetnsGuard in(topo_.node_netns);
      XdpDataplane(settings_).remove_all();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "remove_all: " << e.what();
    }
    ground_.reset();
    std::error_code ec;
    EXPECT_TRUE(fs::is_empty(settings_.bpffs_dir, ec)) << "pins left behind";
    fs::remove_all(settings_.bpffs_dir, ec);
  }

  DataplaneState echo_state() const {
    const std::string set = "svc/t/echo";
    return DataplaneState::from_parts({Frontend{{kVip, 80, config::Protocol::tcp}, 7000, set, "echo"}}, {},
                                      {BackendSet{set, {ground_->member(0), ground_->member(1)}}});
  }

  ApplyReport apply(const config::NodeSettings& s) {
    netlink::NetnsGuard in(topo_.node_netns);
    XdpDataplane dp(s);
    return dp.apply(echo_state());
  }

  // The running fast path's pins, turned into layout 1's (see the top of the file). Counters:
  // each key of the two counter maps gets 1000 * (key + 1) + cpu on every CPU.
  void make_layout1_pins() {
    netlink::NetnsGuard in(topo_.node_netns);
    // Layout 1 wrote gen 0 everywhere; the gens map is zeroed first so that no flow reads as
    // stale to the running programs meanwhile.
    if (loader::UniqueFd gens = loader::open_pinned(pins_.map("pw_frontend_gens"))) {
      const std::uint32_t zero = 0;
      for (std::uint32_t id = 0; id < settings_.maps.frontends; ++id)
        ASSERT_EQ(bpf_map_update_elem(gens.get(), &id, &zero, BPF_ANY), 0);
    }
    const loader::UniqueFd frontends = loader::open_pinned(pins_.map("pw_frontends"));
    for (auto [raw, f] : dump_hash<pw_frontend_key, pw_frontend>(frontends.get())) {
      f.gen = 0;
      ASSERT_EQ(bpf_map_update_elem(frontends.get(), raw.data(), &f, BPF_EXIST), 0);
    }
    copy_conns_into_flows(pins_, true);
    const loader::UniqueFd flows = loader::open_pinned(pins_.map("pw_flows"));
    for (auto [raw, f] : dump_hash<pw_flow_key, pw_flow>(flows.get())) {
      f.frontend_gen = 0;
      ASSERT_EQ(bpf_map_update_elem(flows.get(), raw.data(), &f, BPF_EXIST), 0);
    }
    layout1_drops_ = marked_counters(kLayout1Drops);
    layout1_events_ = marked_counters(kLayout1Events);
    pin_layout1_counters(pins_, "pw_drops", kLayout1Drops, layout1_drops_);
    pin_layout1_counters(pins_, "pw_events", kLayout1Events, layout1_events_);
    for (const auto& name : kLayout2Only) ASSERT_TRUE(fs::remove(pins_.map(name))) << name;
    remove_conn_ctl_pins(pins_);
    auto meta = MetaMaps::open_existing(pins_);
    ASSERT_TRUE(meta);
    meta->set_program_fingerprint(1);  // an older build's object
    // The pins now are layout 1's, map by map.
    for (const Shape& s : kLayout1) {
      const loader::UniqueFd fd = loader::open_pinned(pins_.map(s.name));
      ASSERT_TRUE(fd) << s.name;
      const loader::MapInfo info = loader::map_info(fd.get());
      EXPECT_EQ(info.type, s.type) << s.name;
      EXPECT_EQ(info.key_size, s.key) << s.name;
      EXPECT_EQ(info.value_size, s.value) << s.name;
      EXPECT_EQ(info.map_flags, s.flags) << s.name;
    }
    EXPECT_EQ(MetaMaps::pinned_layout(pins_), 1u);
  }

  // Links detached and program pins gone, maps left pinned: as after a crash between a detach
  // and a removal. Called in the node's namespace.
  void stop_the_programs() const {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(pins_.links(), ec)) loader::unpin_and_detach(entry.path().string());
    for (const auto& entry : fs::directory_iterator(pins_.progs(), ec)) fs::remove(entry.path());
  }

  // Each named map is the same kernel object as before, and every flow is still in the flow
  // table on its backend: moved from pw_flows into the connection table by the upgrade (none
  // of these shares a client port or is a hairpin). Called in the node's namespace.
  void expect_reused_with_their_flows(const std::map<std::string, std::uint32_t>& reused,
                                      const std::map<std::string, pw_flow>& flows_before) const {
    for (const auto& [name, id] : reused)
      EXPECT_EQ(map_id(loader::open_pinned(pins_.map(name)).get()), id) << name << " was not reused";
    auto pinned = PinnedLbMaps::open(pins_);
    ASSERT_TRUE(pinned);
    const loader::LbMaps maps(pinned->fds());
    const auto conns = maps.conns();
    for (const auto& [raw, f] : flows_before) {
      pw_flow_key key{};
      std::memcpy(&key, raw.data(), sizeof key);
      const auto now = maps.flow(key);
      ASSERT_TRUE(now.has_value()) << "a flow left the flow table";
      EXPECT_EQ(now->backend_id, f.backend_id);
      EXPECT_TRUE(std::any_of(conns.begin(), conns.end(), [&](const auto& c) {
        return c.first.client_addr == key.saddr && c.first.client_port == key.sport && c.second.frontend_addr == key.daddr;
      })) << "a flow was not moved into the connection table";
    }
    const auto left = dump_hash<pw_flow_key, pw_flow>(loader::open_pinned(pins_.map("pw_flows")).get());
    for (const auto& [raw, f] : flows_before) EXPECT_FALSE(left.contains(raw)) << "a moved flow stayed in pw_flows";
  }

  // The running fast path's connections, turned into layout 4's pins: both connection maps
  // pinned (the IPv4 one holding every connection of the set table), the set tables' and the
  // control programs' pins gone, layout 4 recorded with an older build's fingerprint. The
  // attached programs stay this build's, on set tables no pin names. Returns the connections.
  std::size_t make_layout4_pins() {
    netlink::NetnsGuard in(topo_.node_netns);
    const auto pinned = PinnedLbMaps::open(pins_);
    EXPECT_TRUE(pinned);
    if (!pinned) return 0;
    const auto conns = loader::LbMaps(pinned->fds()).conns();
    const int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pw_conns", sizeof(pw_conn_key), sizeof(pw_conn),
                                  settings_.maps.conntrack, nullptr);
    const int fd6 = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pw_conns6", sizeof(pw_conn6_key), sizeof(pw_conn6),
                                   settings_.maps.conntrack, nullptr);
    EXPECT_GE(fd, 0);
    EXPECT_GE(fd6, 0);
    const loader::UniqueFd old_conns{fd}, old_conns6{fd6};
    for (const auto& [ck, c] : conns) EXPECT_EQ(bpf_map_update_elem(fd, &ck, &c, BPF_NOEXIST), 0);
    loader::pin_object(fd, pins_.map("pw_conns"));
    loader::pin_object(fd6, pins_.map("pw_conns6"));
    for (const char* name : {"pw_conn_sets", "pw_conn_sets6"}) EXPECT_TRUE(fs::remove(pins_.map(name))) << name;
    remove_conn_ctl_pins(pins_);
    auto meta = MetaMaps::open_existing(pins_);
    EXPECT_TRUE(meta);
    if (!meta) return 0;
    meta->set_layout_version(4);
    meta->set_program_fingerprint(1);  // an older build's object
    return conns.size();
  }

  // 256 TCP connections asking every 20 ms through this build's fast path, whose pins are then
  // made layout 4's (make_layout4_pins); null (with a failure recorded) when that went wrong.
  std::unique_ptr<itest::FlowLoad> layout4_under_load(std::size_t& in_layout4) {
    apply(settings_);
    auto load = std::make_unique<itest::FlowLoad>(
        std::vector<itest::FlowGroup>{{"client->service", topo_.client_netns, net::to_string(kVip), 80, 256}});
    EXPECT_EQ(load->opened(), 256);
    if (load->opened() != 256) return nullptr;
    load->start(std::chrono::milliseconds(20), std::chrono::seconds(60));
    in_layout4 = make_layout4_pins();
    EXPECT_GE(in_layout4, 256u);
    return in_layout4 >= 256u ? std::move(load) : nullptr;
  }

  // Layout 5 recorded, layout 4's maps unpinned, every carried connection in the set table and
  // none counted as evicted.
  void expect_layout4_carried(std::size_t in_layout4) const {
    netlink::NetnsGuard in(topo_.node_netns);
    EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION);
    EXPECT_FALSE(fs::exists(pins_.map("pw_conns")));
    EXPECT_FALSE(fs::exists(pins_.map("pw_conns6")));
    const auto pinned = PinnedLbMaps::open(pins_);
    ASSERT_TRUE(pinned);
    const loader::LbMaps maps(pinned->fds());
    EXPECT_GE(maps.conns().size(), in_layout4) << "every connection in the new set table";
    EXPECT_EQ(maps.flow_fill().evicted, 0u) << "the carried connections counted as evicted";
  }

  static std::vector<std::uint64_t> marked_counters(std::uint32_t entries) {
    std::vector<std::uint64_t> v(entries * cpus());
    for (std::uint32_t k = 0; k < entries; ++k)
      for (std::size_t c = 0; c < cpus(); ++c) v[k * cpus() + c] = 1000u * (k + 1) + c;
    return v;
  }

  // Each layout-1 counter is in the new map, on its CPU, plus what the programs counted since
  // (the exact copy: tests/bpf/layout_carry_test.cc).
  void expect_counters_carried(const char* name, std::uint32_t slots, const std::vector<std::uint64_t>& before) {
    const loader::UniqueFd fd = loader::open_pinned(pins_.map(name));
    ASSERT_TRUE(fd) << name;
    ASSERT_EQ(loader::map_info(fd.get()).max_entries, slots) << name;
    const std::vector<std::uint64_t> now = read_counters(fd.get(), slots);
    for (std::size_t i = 0; i < before.size(); ++i)
      EXPECT_GE(now[i], before[i]) << name << " key " << i / cpus() << " cpu " << i % cpus();
  }

  std::unique_ptr<itest::LabGround> ground_;
  lab::Topology topo_;
  config::NodeSettings settings_;
  PinLayout pins_;
  std::vector<std::uint64_t> layout1_drops_, layout1_events_;
};

// Whether a note of the sync's report contains `text`.
bool noted(const ApplyReport& report, const std::string& text) {
  return std::any_of(report.notes.begin(), report.notes.end(),
                     [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

// Half a second of traffic on the new programs, then the load's flows: none lost or moved to
// another backend by the upgrade, and traffic flowed.
void expect_no_flow_lost(itest::FlowLoad& load) {
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (const auto& [name, f] : load.stop()) {
    std::cout << "  " << name << ": " << f.to_string() << "\n";
    EXPECT_EQ(f.lost(), 0) << name << ": established TCP flows lost or moved by the upgrade";
    EXPECT_GT(f.exchanges, 2L * f.opened) << name << ": traffic flowed";
  }
}

std::string who(itest::TcpConnection& conn) {
  const auto r = conn.exchange("WHO\n");
  lab::WhoAnswer w;
  if (r.status != lab::ProbeStatus::ok || !lab::parse_who(r.reply, w)) return "";
  return w.sandbox;
}

// 256 TCP connections through the node carry traffic all the time (each asks WHO every 20 ms
// and must be answered by the sandbox that answered first) while the pins are turned into
// layout 1's and while the sync upgrades them.
TEST_F(LayoutUpgradeTest, ALayoutOneNodeUpgradesKeepingItsTcpFlowsAndCounters) {
  apply(settings_);
  const std::string vip = net::to_string(kVip);
  itest::FlowLoad load({{"client->service", topo_.client_netns, vip, 80, 256}});
  ASSERT_EQ(load.opened(), 256);
  load.start(std::chrono::milliseconds(20), std::chrono::seconds(60));
  make_layout1_pins();
  std::map<std::string, pw_flow> flows_before;
  {
    netlink::NetnsGuard in(topo_.node_netns);
    flows_before = dump_hash<pw_flow_key, pw_flow>(loader::open_pinned(pins_.map("pw_flows")).get());
  }
  ASSERT_GE(flows_before.size(), 256u);

  const ApplyReport report = apply(settings_);
  EXPECT_TRUE(report.applied.empty()) << "the installed state read back from layout 1 is the desired one";
  EXPECT_TRUE(noted(report, "upgraded the pinned layout from 1 to " + std::to_string(PW_LAYOUT_VERSION)));

  expect_no_flow_lost(load);

  netlink::NetnsGuard in(topo_.node_netns);
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION);
  for (const auto& name : kLayout2Only) EXPECT_TRUE(fs::exists(pins_.map(name))) << name;
  EXPECT_TRUE(noted(report, "moved " + std::to_string(flows_before.size()) + " established flows into the connection maps"));
  // Every flow on its backend, moved from pw_flows into the connection table.
  expect_reused_with_their_flows({}, flows_before);
  expect_counters_carried("pw_drops", PW_DROP_SLOTS, layout1_drops_);
  expect_counters_carried("pw_events", PW_EVENT_SLOTS, layout1_events_);
  // New flows after the upgrade run on the new programs and maps.
  const auto probe = lab::tcp_probe(topo_.client_netns, vip, 80);
  EXPECT_EQ(probe.status, lab::ProbeStatus::ok) << probe.error;
}

// A fresh pin folder: the load creates this layout's maps and the version is recorded with
// them; neither the first programming nor the next one notes an upgrade (the real layout-1
// pins of the test above still do).
TEST_F(LayoutUpgradeTest, AFreshInstallRecordsItsLayoutAndNotesNoUpgrade) {
  const auto upgrade_notes = [](const ApplyReport& report) {
    std::vector<std::string> out;
    for (const auto& n : report.notes)
      if (n.find("layout") != std::string::npos) out.push_back(n);
    return out;
  };
  const ApplyReport first = apply(settings_);
  EXPECT_TRUE(std::any_of(first.notes.begin(), first.notes.end(),
                          [](const std::string& n) { return n.find("loaded the fast-path programs") != std::string::npos; }))
      << "the programs were not loaded: the folder was not fresh";
  EXPECT_EQ(upgrade_notes(first), std::vector<std::string>{});
  {
    netlink::NetnsGuard in(topo_.node_netns);
    EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION);
  }
  EXPECT_EQ(upgrade_notes(apply(settings_)), std::vector<std::string>{});
}

// Layout-1 pins that no running program names (links and program pins gone, as after a
// crash between a detach and a removal): nothing to re-pin the layout-2 maps from, so the
// load creates each of them, with the shape the object declares; the maps of layout 1 are
// reused (the same kernel objects), their flows and counters kept.
TEST_F(LayoutUpgradeTest, LayoutOnePinsWithoutRunningProgramsGetEveryNewMapCreated) {
  apply(settings_);
  itest::TcpConnection conn(topo_.client_netns, net::to_string(kVip), 80);
  ASSERT_TRUE(conn.connected());
  ASSERT_FALSE(who(conn).empty());
  make_layout1_pins();
  std::map<std::string, std::uint32_t> reused;
  std::map<std::string, pw_flow> flows_before;
  {
    netlink::NetnsGuard in(topo_.node_netns);
    stop_the_programs();
    for (const Shape& shape : kLayout1)
      if (std::string(shape.name) != "pw_drops" && std::string(shape.name) != "pw_events")
        reused[shape.name] = map_id(loader::open_pinned(pins_.map(shape.name)).get());
    flows_before = dump_hash<pw_flow_key, pw_flow>(loader::open_pinned(pins_.map("pw_flows")).get());
  }
  ASSERT_GE(flows_before.size(), 1u);

  apply(settings_);
  netlink::NetnsGuard in(topo_.node_netns);
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION);
  expect_reused_with_their_flows(reused, flows_before);
  // The layout-2 maps, created by the load: the shapes of lb_abi.h's layout-2 section.
  const std::map<std::string, std::pair<std::uint32_t, std::uint32_t>> key_value{
      {"pw_frontend_gens", {4, 4}},
      {"pw_prefilter", {4, sizeof(pw_prefilter)}},
      {"pw_frontends6", {sizeof(pw_frontend6_key), sizeof(pw_frontend)}},
      {"pw_service_addrs6", {sizeof(pw_in6), sizeof(pw_service_addr)}},
      {"pw_node_addrs6", {sizeof(pw_in6), sizeof(pw_node_addr)}},
      {"pw_backend_addrs6", {4, sizeof(pw_in6)}},
      {"pw_set_descs6", {4, 8}},
      {"pw_nexthops6", {4, sizeof(pw_nexthop6)}},
      {"pw_flows6", {sizeof(pw_flow6_key), sizeof(pw_flow6)}},
      {"pw_reverse6", {sizeof(pw_flow6_key), sizeof(pw_reverse6)}},
      {"pw_fragments6", {sizeof(pw_fragment6_key), sizeof(pw_fragment6)}},
      {"pw_sock_reverse6", {sizeof(pw_sock_reverse6_key), sizeof(pw_sock_reverse6)}},
      {"pw_meta_layout", {4, 4}},
      {"pw_uplinks", {4, sizeof(pw_interface)}},
      {"pw_conn_sets", {4, sizeof(pw_conn_set)}},
      {"pw_conn_sets6", {4, sizeof(pw_conn6_set)}}};
  for (const auto& [name, kv] : key_value) {
    const loader::UniqueFd fd = loader::open_pinned(pins_.map(name));
    ASSERT_TRUE(fd) << name;
    const loader::MapInfo info = loader::map_info(fd.get());
    EXPECT_EQ(info.key_size, kv.first) << name;
    EXPECT_EQ(info.value_size, kv.second) << name;
  }
  expect_counters_carried("pw_drops", PW_DROP_SLOTS, layout1_drops_);
  expect_counters_carried("pw_events", PW_EVENT_SLOTS, layout1_events_);
}

// Layout 2's pins (every map but pw_uplinks and the connection tables, the flows in pw_flows,
// the version record saying 2) with no program running, as after a crash between a detach and
// a removal: the load creates pw_uplinks and the connection tables, the controller writes the
// uplink's entry, this layout is recorded and noted, the flows and every other map are the ones
// that were pinned, the old connection goes on and a new one is recorded in the connection
// table.
TEST_F(LayoutUpgradeTest, LayoutTwoPinsGetTheUplinkArrayCreatedAndFilled) {
  apply(settings_);
  itest::TcpConnection conn(topo_.client_netns, net::to_string(kVip), 80);
  ASSERT_TRUE(conn.connected());
  ASSERT_FALSE(who(conn).empty());
  std::map<std::string, std::uint32_t> reused;
  std::map<std::string, pw_flow> flows_before;
  std::uint32_t uplink = 0;
  {
    netlink::NetnsGuard in(topo_.node_netns);
    uplink = if_nametoindex(topo_.uplink.c_str());
    ASSERT_NE(uplink, 0u);
    stop_the_programs();
    copy_conns_into_flows(pins_, false);
    for (const char* name : {"pw_uplinks", "pw_conn_sets", "pw_conn_sets6"}) ASSERT_TRUE(fs::remove(pins_.map(name))) << name;
    auto meta = MetaMaps::open_existing(pins_);
    ASSERT_TRUE(meta);
    meta->set_layout_version(2);
    meta->set_program_fingerprint(1);  // an older build's object
    for (const char* name : {"pw_flows", "pw_reverse", "pw_interfaces", "pw_frontends", "pw_frontend_gens", "pw_drops"})
      reused[name] = map_id(loader::open_pinned(pins_.map(name)).get());
    flows_before = dump_hash<pw_flow_key, pw_flow>(loader::open_pinned(pins_.map("pw_flows")).get());
  }
  ASSERT_GE(flows_before.size(), 1u);
  ASSERT_EQ(MetaMaps::pinned_layout(pins_), 2u);

  const ApplyReport report = apply(settings_);
  EXPECT_TRUE(std::any_of(report.notes.begin(), report.notes.end(), [](const std::string& n) {
    return n.find("upgraded the pinned layout from 2 to " + std::to_string(PW_LAYOUT_VERSION)) != std::string::npos;
  }));
  netlink::NetnsGuard in(topo_.node_netns);
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION);
  expect_reused_with_their_flows(reused, flows_before);
  const loader::UniqueFd uplinks = loader::open_pinned(pins_.map("pw_uplinks"));
  const loader::UniqueFd interfaces = loader::open_pinned(pins_.map("pw_interfaces"));
  ASSERT_TRUE(uplinks && interfaces);
  EXPECT_EQ(loader::map_info(uplinks.get()).max_entries, PW_UPLINK_SLOTS);
  pw_interface slot{}, record{};
  ASSERT_EQ(bpf_map_lookup_elem(uplinks.get(), &uplink, &slot), 0);
  ASSERT_EQ(bpf_map_lookup_elem(interfaces.get(), &uplink, &record), 0);
  EXPECT_EQ(slot.flags, PW_IF_UPLINK);
  EXPECT_EQ(std::memcmp(slot.mac, record.mac, sizeof slot.mac), 0) << "the uplink's MAC";
  // The connection made before goes on through the new programs, its flow moved into the
  // connection table, and new ones are taken there too.
  EXPECT_TRUE(std::any_of(report.notes.begin(), report.notes.end(), [&](const std::string& n) {
    return n == "moved " + std::to_string(flows_before.size()) + " established flows into the connection maps";
  }));
  const auto conns = [&] {
    const auto pinned = PinnedLbMaps::open(pins_);
    return pinned ? loader::LbMaps(pinned->fds()).conns().size() : 0;
  };
  EXPECT_EQ(conns(), flows_before.size());
  EXPECT_FALSE(who(conn).empty());
  const auto probe = lab::tcp_probe(topo_.client_netns, net::to_string(kVip), 80);
  EXPECT_EQ(probe.status, lab::ProbeStatus::ok) << probe.error;
  EXPECT_EQ(conns(), flows_before.size() + 1) << "the new connection";
}

// Layout 4's connection maps under load: 256 TCP connections carry traffic (each asks WHO
// every 20 ms and must be answered by the sandbox that answered first) while the pins are made
// layout 4's and while the sync upgrades them. Layout 4 kept connections in the LRU hashes
// pw_conns/pw_conns6: they are created with that shape, filled with the connections the set
// tables hold, pinned under those names, the set tables' and the control programs' pins
// removed and the version record set to 4. (The running programs are this build's: they go on
// writing their set tables, now unpinned, where a layout-4 program would write pw_conns; no
// new connection is made meanwhile, so the copy is what a layout-4 node would hold.) The sync
// loads the programs, which create the set tables; the connections are carried into them, no
// connection is lost or moved, and the old maps' pins are gone.
TEST_F(LayoutUpgradeTest, LayoutFourConnectionsAreCarriedIntoTheSetTablesUnderLoad) {
  std::size_t in_layout4 = 0;
  const auto load = layout4_under_load(in_layout4);
  ASSERT_TRUE(load);

  const ApplyReport report = apply(settings_);
  EXPECT_TRUE(noted(report, "upgraded the pinned layout from 4 to " + std::to_string(PW_LAYOUT_VERSION)));
  EXPECT_TRUE(noted(report, "copied " + std::to_string(in_layout4) + " connections of layout 4"));
  EXPECT_TRUE(noted(report, "carried " + std::to_string(in_layout4) + " connections of layout 4"));

  expect_no_flow_lost(*load);
  expect_layout4_carried(in_layout4);
}

// The process stops halfway through the same upgrade: after the load, the programming and the
// sandbox attachments, before the uplinks run the new programs (the carry begun, the old maps
// still pinned, no layout recorded). The next sync finds the programs loaded and the old maps
// pinned, carries the connections again and completes the upgrade, under the same load.
TEST_F(LayoutUpgradeTest, AnUpgradeStoppedAfterTheLoadIsCompletedByTheNextSync) {
  std::size_t in_layout4 = 0;
  const auto load = layout4_under_load(in_layout4);
  ASSERT_TRUE(load);
  {
    netlink::NetnsGuard in(topo_.node_netns);
    XdpDataplane stopped(settings_);
    ApplyReport half = stopped.prepare(echo_state());
    EXPECT_TRUE(noted(half, "copied " + std::to_string(in_layout4) + " connections of layout 4"));
    EXPECT_THROW(stopped.ensure_attached(half.notes, [] { throw std::runtime_error("stopped"); }),
                 std::runtime_error);
    EXPECT_TRUE(fs::exists(pins_.map("pw_conns"))) << "the old maps outlived the stop";
    EXPECT_EQ(MetaMaps::pinned_layout(pins_), 4u) << "a layout recorded before the uplinks ran it";
  }

  const ApplyReport report = apply(settings_);
  EXPECT_FALSE(noted(report, "loaded the fast-path programs")) << "the loaded programs were not reused";
  EXPECT_TRUE(noted(report, "copied " + std::to_string(in_layout4) + " connections of layout 4"));
  EXPECT_TRUE(noted(report, "carried " + std::to_string(in_layout4) + " connections of layout 4"));
  EXPECT_TRUE(noted(report, "upgraded the pinned layout from 4 to " + std::to_string(PW_LAYOUT_VERSION)));

  expect_no_flow_lost(*load);
  expect_layout4_carried(in_layout4);
}

// The load fails (here: settings whose map sizes differ from the pinned maps'): the layout-1
// pins are as they were (the same counter maps, no version), the flows still go, and a retry
// with the right settings upgrades.
TEST_F(LayoutUpgradeTest, AFailedUpgradeLeavesLayoutOneAsItWasAndARetryUpgrades) {
  apply(settings_);
  itest::TcpConnection conn(topo_.client_netns, net::to_string(kVip), 80);
  ASSERT_TRUE(conn.connected());
  const std::string backend = who(conn);
  ASSERT_FALSE(backend.empty());
  make_layout1_pins();
  std::map<std::string, std::uint32_t> before;
  {
    netlink::NetnsGuard in(topo_.node_netns);
    before = pinned_objects(settings_.bpffs_dir);
  }

  config::NodeSettings other = settings_;
  other.maps.conntrack = 8192;
  EXPECT_THROW(apply(other), std::exception);
  {
    netlink::NetnsGuard in(topo_.node_netns);
    std::map<std::string, std::uint32_t> after = pinned_objects(settings_.bpffs_dir);
    // The metadata maps the sync makes sure of (pw_meta_layout among them) may be new; every
    // pin of the layout-1 fast path names the object it named.
    for (const auto& [path, id] : before) {
      ASSERT_TRUE(after.count(path)) << path << " is gone";
      EXPECT_EQ(after[path], id) << path;
    }
    EXPECT_EQ(MetaMaps::pinned_layout(pins_), 1u);
    EXPECT_EQ(loader::map_info(loader::open_pinned(pins_.map("pw_drops")).get()).max_entries, kLayout1Drops);
  }
  EXPECT_EQ(who(conn), backend);

  apply(settings_);
  EXPECT_EQ(who(conn), backend);
  netlink::NetnsGuard in(topo_.node_netns);
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION);
  expect_counters_carried("pw_drops", PW_DROP_SLOTS, layout1_drops_);
}

// Pins of a newer layout (3 recorded): refused before anything changes, with the versions
// and the documented procedure in the message.
TEST_F(LayoutUpgradeTest, ANewerLayoutIsRefusedAndNothingChanges) {
  apply(settings_);
  std::map<std::string, std::uint32_t> before;
  {
    netlink::NetnsGuard in(topo_.node_netns);
    auto meta = MetaMaps::open_existing(pins_);
    ASSERT_TRUE(meta);
    meta->set_layout_version(PW_LAYOUT_VERSION + 1);
    meta->set_program_fingerprint(1);  // would otherwise make the sync load its programs
    before = pinned_objects(settings_.bpffs_dir);
  }
  try {
    apply(settings_);
    FAIL() << "expected NewerLayout";
  } catch (const NewerLayout& e) {
    EXPECT_EQ(e.exit_code(), kExitEnvironment);
    const std::string what = e.what();
    EXPECT_NE(what.find("layout " + std::to_string(PW_LAYOUT_VERSION + 1)), std::string::npos) << what;
    EXPECT_NE(what.find("layout " + std::to_string(PW_LAYOUT_VERSION)), std::string::npos) << what;
    EXPECT_NE(what.find("Pinned layout and upgrades"), std::string::npos) << what;
  }
  netlink::NetnsGuard in(topo_.node_netns);
  EXPECT_EQ(pinned_objects(settings_.bpffs_dir), before);
  EXPECT_EQ(MetaMaps::open_existing(pins_)->program_fingerprint(), 1u);
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION + 1);
}

// The same refusal through `portway sync` on a lab node, with --dataplane auto (no fallback to
// nftables, which would remove the fast path) and xdp: exit 2, every pin untouched.
class LayoutRefusalCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    cfg_ = itest::lab_test_config("pwl", "layouttest");
    lab::lab_down(cfg_);
    up_ = true;
    lab::lab_up(cfg_, config::DataplaneChoice::xdp);
    topo_ = lab::plan_topology({cfg_.prefix, 0});
    netns_fd_ = ::open(("/run/netns/" + topo_.node_netns).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(netns_fd_, 0) << topo_.node_netns;
  }
  void TearDown() override {
    if (netns_fd_ >= 0) ::close(netns_fd_);
    if (up_) lab::lab_down(cfg_);
  }

  itest::PortwayResult sync(const std::string& dataplane) const {
    return itest::run_portway(PORTWAY_BINARY, {.args = {"sync", "--dataplane", dataplane, "--state",
                                                        cfg_.dir + "/state.db", "--node", cfg_.dir + "/node.toml"},
                                               .env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
                                               .netns_fd = netns_fd_,
                                               .timeout = std::chrono::seconds(60)});
  }

  lab::LabConfig cfg_;
  bool up_ = false;
  lab::Topology topo_;
  int netns_fd_ = -1;
};

TEST_F(LayoutRefusalCliTest, SyncExitsTwoNamingBothLayoutsAndChangesNothing) {
  const PinLayout pins{lab::lab_node_settings(cfg_).bpffs_dir};
  std::map<std::string, std::uint32_t> before;
  {
    auto meta = MetaMaps::open_existing(pins);
    ASSERT_TRUE(meta);
    meta->set_layout_version(PW_LAYOUT_VERSION + 1);
    meta->set_program_fingerprint(1);
    before = pinned_objects(pins.dir);
  }
  for (const char* dataplane : {"auto", "xdp"}) {
    const auto r = sync(dataplane);
    EXPECT_EQ(r.exit_code, 2) << dataplane << ": " << r.describe();
    EXPECT_NE(r.err.find("has layout " + std::to_string(PW_LAYOUT_VERSION + 1)), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("docs/xdp-dataplane.md"), std::string::npos) << r.err;
    EXPECT_EQ(pinned_objects(pins.dir), before) << dataplane;
  }
}

}  // namespace
}  // namespace portway::dataplane::xdp
