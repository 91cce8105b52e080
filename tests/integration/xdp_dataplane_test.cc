// The fast path end to end: portway_lb attached in a lab topology's node namespace, real TCP
// and UDP from the client namespace to service addresses and node ports, answered by the test
// app in sandbox namespaces. Each test has its own namespaces and its own bpffs folder.
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <tuple>
#include <filesystem>
#include <memory>
#include <set>
#include <system_error>
#include <thread>

#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/meta_maps.h"
#include "dataplane/xdp/pin_layout.h"
#include "dataplane/xdp/uplink_delivery.h"
#include "dataplane/xdp/socket_hooks.h"
#include "dataplane/xdp/prefilter.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/probe_client.h"
#include "loader/cgroup_link.h"
#include "loader/lb_maps.h"
#include "loader/tc_filter.h"
#include "loader/unique_fd.h"
#include "loader/xdp_features.h"
#include "loader/xdp_link.h"
#include "lab/topology.h"
#include "lab_dataplanes.h"
#include "lab_ground.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "state/diff.h"
#include "support/root.h"

namespace portway::dataplane::xdp {
namespace {

using state::BackendSet;
using state::DataplaneState;
using state::Frontend;
using state::Member;
using state::MemberState;
using state::NodePort;
using lab::ProbeStatus;

const net::Ipv4 kVip{0xC613000Au};  // 198.19.0.10

class XdpDataplaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    ground_ = std::make_unique<itest::LabGround>(itest::LabGroundSpec{
        "pwx" + std::to_string(getpid() % 100000), 2, {7000, 7100}, {7001}, 120});
    topo_ = ground_->topo();
    settings_ = itest::xdp_lab_settings(topo_, "/sys/fs/bpf/portway-xdptest-" + std::to_string(getpid()));
  }

  // Every step runs even if an earlier one throws: a failed test must not leave namespaces,
  // links or pins behind.
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
    // remove_all empties the pin folder; the folder itself (the writers' lock) is ours to remove.
    EXPECT_TRUE(std::filesystem::is_empty(settings_.bpffs_dir, ec)) << "pins left behind";
    std::filesystem::remove_all(settings_.bpffs_dir, ec);
  }

  Member member(std::size_t i, MemberState s = MemberState::running) const { return ground_->member(i, s); }

  // svc/t/echo on 198.19.0.10: tcp 80 -> 7000, udp 53 -> 7001, tcp 8080 -> 7100;
  // node ports 30080/tcp -> 7000 and 30053/udp -> 7001.
  DataplaneState echo_state(std::vector<Member> members) const {
    const std::string set = "svc/t/echo";
    return DataplaneState::from_parts(
        {Frontend{{kVip, 80, config::Protocol::tcp}, 7000, set, "echo"},
         Frontend{{kVip, 53, config::Protocol::udp}, 7001, set, "dns"},
         Frontend{{kVip, 8080, config::Protocol::tcp}, 7100, set, "other"}},
        {NodePort{{30080, config::Protocol::tcp}, 7000, set, "echo"},
         NodePort{{30053, config::Protocol::udp}, 7001, set, "dns"}},
        {BackendSet{set, std::move(members)}});
  }

  ApplyReport apply(const DataplaneState& s) {
    netlink::NetnsGuard in(topo_.node_netns);
    XdpDataplane dp(settings_);
    return dp.apply(s);
  }

  DataplaneState installed() {
    netlink::NetnsGuard in(topo_.node_netns);
    return XdpDataplane(settings_).installed();
  }

  lab::WhoAnswer who_tcp(const std::string& addr, std::uint16_t port) {
    const auto r = lab::tcp_probe(topo_.client_netns, addr, port);
    lab::WhoAnswer w;
    EXPECT_EQ(r.status, ProbeStatus::ok) << addr << ":" << port << " " << r.error;
    if (r.status == ProbeStatus::ok) {
      EXPECT_TRUE(lab::parse_who(r.reply, w)) << r.reply;
    }
    return w;
  }

  std::unique_ptr<itest::LabGround> ground_;
  lab::Topology topo_;  // ground_->topo(), by value for brevity
  config::NodeSettings settings_;
};

TEST_F(XdpDataplaneTest, ServicePortsReachTheirOwnTargetsWithTheClientAddressPreserved) {
  const auto report = apply(echo_state({member(0), member(1)}));
  EXPECT_EQ(report.applied.frontends.added.size(), 3u);
  const std::string vip = net::to_string(kVip);

  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const auto w = who_tcp(vip, 80);
    EXPECT_EQ(w.port, 7000) << "port 80 maps to ITS target, 7000";
    EXPECT_EQ(w.client_addr, net::to_string(topo_.client_address)) << "no masquerade";
    seen.insert(w.sandbox);
  }
  EXPECT_EQ(seen.size(), 2u) << "20 new flows over 2 backends all landed on one";

  EXPECT_EQ(who_tcp(vip, 8080).port, 7100) << "a second port of the same service has its own target";

  const auto udp = lab::udp_probe(topo_.client_netns, vip, 53);
  ASSERT_EQ(udp.status, ProbeStatus::ok) << udp.error;
  lab::WhoAnswer w;
  ASSERT_TRUE(lab::parse_who(udp.reply, w));
  EXPECT_EQ(w.port, 7001);
  EXPECT_EQ(w.client_addr, net::to_string(topo_.client_address));
}

TEST_F(XdpDataplaneTest, NodePortsAnswerOnTheNodeAddress) {
  apply(echo_state({member(0), member(1)}));
  const std::string node = net::to_string(topo_.node_address);
  EXPECT_EQ(who_tcp(node, 30080).port, 7000);
  const auto udp = lab::udp_probe(topo_.client_netns, node, 30053);
  EXPECT_EQ(udp.status, ProbeStatus::ok) << udp.error;
}

TEST_F(XdpDataplaneTest, InstalledStateReadsBackAndTheNextApplyChangesOnlyTheDifference) {
  const DataplaneState first = echo_state({member(0), member(1)});
  apply(first);
  EXPECT_EQ(installed(), first) << "a new process reads back exactly what was programmed";

  const auto again = apply(first);
  EXPECT_TRUE(again.applied.empty()) << "nothing changed, nothing written";

  const DataplaneState drained = echo_state({member(0), member(1, MemberState::draining)});
  const auto change = apply(drained);
  EXPECT_EQ(change.applied.frontends.size(), 0u);
  EXPECT_EQ(change.applied.backend_sets.changed.size(), 1u);
  EXPECT_EQ(installed(), drained);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(who_tcp(net::to_string(kVip), 80).sandbox, "sb0") << "draining takes no new flows";
}

// Sandboxes with IPv6 addresses and IPv6 frontends: what is installed reads back with them
// (members' IPv6 addresses, the IPv6 frontend), and a second sync of the same state changes
// nothing.
TEST_F(XdpDataplaneTest, ADualStackStateSyncsWithoutChangesTheSecondTime) {
  std::vector<Member> members = {member(0), member(1)};
  members[0].ipv6 = net::parse_ipv6("2001:2::10");
  members[1].ipv6 = net::parse_ipv6("2001:2::11");
  const DataplaneState plain = echo_state(members);
  std::vector<Frontend> frontends(plain.frontends().begin(), plain.frontends().end());
  frontends.push_back(Frontend{{*net::parse_ipv6("2001:2::a"), 80, config::Protocol::tcp}, 7000, "svc/t/echo", "echo"});
  const DataplaneState dual = DataplaneState::from_parts(
      std::move(frontends), {plain.node_ports().begin(), plain.node_ports().end()},
      {plain.backend_sets().begin(), plain.backend_sets().end()});
  const auto first = apply(dual);
  EXPECT_EQ(first.applied.frontends.added.size(), 4u) << "the IPv6 frontend is programmed too";
  EXPECT_EQ(installed(), dual);
  const auto second = apply(dual);
  EXPECT_TRUE(second.applied.empty()) << state::describe(second.applied).size() << " changes on the second sync";
  EXPECT_EQ(who_tcp(net::to_string(kVip), 80).sandbox.rfind("sb", 0), 0u);
}

// The Maglev tables are read back too, not assumed: a table missing from the pinned maps (maps
// pinned by a version without it, or a crash between writing members and switching) is found
// on the next open and rebuilt, although the diff of the states is empty.
TEST_F(XdpDataplaneTest, AMissingTableIsFoundOnReadBackAndRebuilt) {
  const DataplaneState first = echo_state({member(0), member(1)});
  apply(first);
  {
    const loader::UniqueFd descs = loader::open_pinned(PinLayout{settings_.bpffs_dir}.map("pw_set_descs"));
    ASSERT_TRUE(descs);
    for (std::uint32_t set = 0; set < settings_.maps.backend_sets; ++set) {
      const std::uint64_t none = 0;
      ASSERT_EQ(bpf_map_update_elem(descs.get(), &set, &none, BPF_ANY), 0);
    }
  }
  EXPECT_NE(lab::tcp_probe(topo_.client_netns, net::to_string(kVip), 80, "WHO\n",
                            std::chrono::milliseconds(300)).status, ProbeStatus::ok)
      << "without its table the set has no backend";
  const auto repair = apply(first);
  EXPECT_TRUE(repair.applied.empty()) << "the members were all there";
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) seen.insert(who_tcp(net::to_string(kVip), 80).sandbox);
  EXPECT_FALSE(seen.empty());
  EXPECT_EQ(installed(), first);
}

TEST_F(XdpDataplaneTest, RemoveAllDetachesEverything) {
  apply(echo_state({member(0)}));
  {
    netlink::NetnsGuard in(topo_.node_netns);
    XdpDataplane dp(settings_);
    EXPECT_FALSE(dp.attachments().empty());
    for (const auto& hook : kSocketHooks)
      EXPECT_EQ(loader::cgroup_program_count(settings_.cgroup, hook.attach_type), 1u) << hook.name;
    dp.remove_all();
    EXPECT_TRUE(dp.attachments().empty());
    EXPECT_FALSE(dp.is_installed());
    for (const auto& hook : kSocketHooks)
      EXPECT_EQ(loader::cgroup_program_count(settings_.cgroup, hook.attach_type), 0u) << hook.name;
  }
  EXPECT_NE(lab::tcp_probe(topo_.client_netns, net::to_string(kVip), 80, "WHO\n",
                            std::chrono::milliseconds(300)).status, ProbeStatus::ok);
}

// Whether the interface (in the calling thread's namespace) has a clsact qdisc: making one
// answers EEXIST then. A qdisc the probe made is removed again at once.
bool has_clsact(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  const int rc = bpf_tc_hook_create(&hook);
  if (rc == -EEXIST) return true;
  if (rc != 0) throw std::system_error(-rc, std::generic_category(), "probe for a clsact qdisc");
  hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  bpf_tc_hook_destroy(&hook);
  return false;
}

// The clsact qdiscs portway made (the lab's veths have none of their own) go when the fast path
// goes altogether; only a switch of dataplane keeps them (DataplaneSwitchTest.SwitchesUnderLoad*).
TEST_F(XdpDataplaneTest, RemoveAllTakesTheQdiscsItMadeAlong) {
  apply(echo_state({member(0), member(1)}));
  netlink::NetnsGuard in(topo_.node_netns);
  std::vector<int> made{static_cast<int>(netlink::ifindex_of(topo_.uplink))};
  for (const auto& sb : topo_.sandboxes) made.push_back(static_cast<int>(netlink::ifindex_of(sb.host_link)));
  for (const int ifindex : made) EXPECT_TRUE(has_clsact(ifindex)) << ifindex;
  XdpDataplane(settings_).remove_all();
  for (const int ifindex : made) EXPECT_FALSE(has_clsact(ifindex)) << ifindex;
}

// Each uplink gets its MAC in pw_interfaces and the tc hand-off program before XDP runs on it;
// both go with the fast path.
TEST_F(XdpDataplaneTest, UplinksGetTheirMacAndTheTcHandoffAndLoseThemWithTheFastPath) {
  apply(echo_state({member(0)}));
  netlink::NetnsGuard in(topo_.node_netns);
  const int up = static_cast<int>(netlink::ifindex_of(topo_.uplink));
  {
    auto pinned = PinnedLbMaps::open({settings_.bpffs_dir});
    ASSERT_TRUE(pinned);
    loader::LbMaps maps(pinned->fds());
    const auto entries = maps.interfaces();
    ASSERT_EQ(entries.size(), 1u) << "only the uplink: no sandbox veth is marked xdp-ready";
    EXPECT_EQ(entries[0].first, static_cast<std::uint32_t>(up));
    EXPECT_EQ(entries[0].second.flags, PW_IF_UPLINK);
    const auto mac = interface_mac(topo_.uplink);
    EXPECT_TRUE(std::equal(mac.begin(), mac.end(), entries[0].second.mac));
  }
  EXPECT_NE(loader::tc_program_id(up, loader::TcDirection::ingress), 0u);
  XdpDataplane(settings_).remove_all();
  EXPECT_EQ(loader::tc_program_id(up, loader::TcDirection::ingress), 0u);
}

// Node-port traffic into sandboxes with veth defaults arrives through the tc hand-off, and
// the stats say so; on a kernel without XDP metadata (loader/xdp_features.h) passed to the
// stack translated and forwarded by the uplink's tc program, counted as both.
TEST_F(XdpDataplaneTest, TrafficToSandboxesTakesTheTcHandoffAndIsCounted) {
  apply(echo_state({member(0), member(1)}));
  const std::string node = net::to_string(topo_.node_address);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(who_tcp(node, 30080).port, 7000);
  netlink::NetnsGuard in(topo_.node_netns);
  const auto stats = XdpDataplane(settings_).stats();
  if (loader::xdp_metadata_supported()) {
    EXPECT_GE(stats.events.at("xdp_tc_handoff"), 9u);
    EXPECT_EQ(stats.events.at("tc_handoff_delivered"), stats.events.at("xdp_tc_handoff"));
  } else {
    EXPECT_GE(stats.events.at("xdp_stack"), 9u);
    EXPECT_EQ(stats.events.at("xdp_tc_handoff"), 0u);
    EXPECT_EQ(stats.events.at("tc_handoff_delivered"), 0u);
    // The uplink's tc program forwarded them (bpf/lib/tc_forward.h): all but, at most, a first
    // frame sent before the node knew the sandbox's MAC (the stack's to resolve).
    EXPECT_LE(stats.events.at("tc_stack_forward"), stats.events.at("xdp_stack"));
    EXPECT_GE(stats.events.at("tc_stack_forward") + 1, stats.events.at("xdp_stack"));
  }
  EXPECT_EQ(stats.events.at("xdp_redirect"), 0u);
  EXPECT_EQ(stats.events.at("flow_inserts"), 3u);
}

// Pins of a version without pw_interfaces, pw_events, the tc hand-off program and its
// metadata map: still installed, and the next sync (a reload) creates them all, with the
// flows already there as the baseline of the flow count.
TEST_F(XdpDataplaneTest, AnUpgradeFromPinsWithoutTheNewMapsCreatesThem) {
  apply(echo_state({member(0), member(1)}));
  const std::string node = net::to_string(topo_.node_address);
  EXPECT_EQ(who_tcp(node, 30080).port, 7000);
  const PinLayout pins{settings_.bpffs_dir};
  const std::vector<std::string> newer{pins.map("pw_interfaces"), pins.map("pw_events"),
                                       pins.map("pw_meta_tc_uplink"), pins.tc_uplink_prog()};
  {
    netlink::NetnsGuard in(topo_.node_netns);
    for (const auto& path : newer) ASSERT_TRUE(std::filesystem::remove(path)) << path;
    auto meta = MetaMaps::open_existing(pins);
    ASSERT_TRUE(meta);
    meta->set_program_fingerprint(1);  // an older build's object
    EXPECT_TRUE(XdpDataplane(settings_).is_installed());
    EXPECT_FALSE(read_flow_fill(pins)->counted);
  }
  apply(echo_state({member(0), member(1)}));
  for (const auto& path : newer) EXPECT_TRUE(std::filesystem::exists(path)) << path;
  EXPECT_EQ(who_tcp(node, 30080).port, 7000);
  netlink::NetnsGuard in(topo_.node_netns);
  const auto fill = read_flow_fill(pins);
  ASSERT_TRUE(fill && fill->counted);
  EXPECT_EQ(fill->entries, 2u);
  EXPECT_EQ(fill->inserted, 2u) << "one flow from before (baseline) and one after";
  EXPECT_EQ(fill->evicted, 0u);
  EXPECT_GE(XdpDataplane(settings_).stats().events.at(loader::xdp_metadata_supported() ? "tc_handoff_delivered" : "xdp_stack"), 3u);
}

// A flow table smaller than the flows: what the LRU pushed out shows as evicted, next to the
// fill (what `portway status` prints).
TEST_F(XdpDataplaneTest, AFullFlowTableCountsItsEvictions) {
  settings_.maps.conntrack = 1024;
  apply(echo_state({member(0), member(1)}));
  const std::string node = net::to_string(topo_.node_address);
  constexpr int kFlows = 1500;
  int answered = 0;
  for (int i = 0; i < kFlows; ++i)
    answered += lab::udp_probe(topo_.client_netns, node, 30053, "WHO", std::chrono::milliseconds(500),
                               static_cast<std::uint16_t>(20000 + i))
                    .status == ProbeStatus::ok;
  EXPECT_GE(answered, kFlows - 5);
  netlink::NetnsGuard in(topo_.node_netns);
  const auto fill = read_flow_fill({settings_.bpffs_dir});
  ASSERT_TRUE(fill && fill->counted);
  // 1,024 flows of the setting: 160 sets of 8 ways (lb_abi.h, PW_CONN_SETS_FOR).
  constexpr std::uint32_t kWays = 160 * PW_CONN_WAYS;
  static_assert(PW_CONN_SETS_FOR(1024) * PW_CONN_WAYS == kWays);
  EXPECT_EQ(fill->capacity, kWays);
  EXPECT_LE(fill->entries, kWays);
  EXPECT_EQ(fill->inserted, static_cast<std::uint64_t>(kFlows));
  EXPECT_EQ(fill->deleted, 0u);
  EXPECT_EQ(fill->evicted, fill->inserted - fill->entries);
  EXPECT_GE(fill->evicted, static_cast<std::uint64_t>(kFlows - kWays));
}

}  // namespace
}  // namespace portway::dataplane::xdp

namespace portway::dataplane::xdp {
namespace {

// The controller's side of flow-first (lb_abi.h, pw_frontend_gens): every installed frontend's
// gen equals its id's, a removal moves the id's gen on (its recorded flows are then stale for
// the programs), an unchanged frontend keeps its gen across syncs; and pw_prefilter holds the
// node's service range and node address, admitting the frontends and nothing outside.
TEST_F(XdpDataplaneTest, FrontendGensMoveWithTheirIdsAndThePrefilterIsProgrammed) {
  const DataplaneState first = echo_state({member(0), member(1)});
  apply(first);
  EXPECT_EQ(who_tcp(net::to_string(kVip), 80).port, 7000);  // records a flow under the gen

  const auto read = [&] {
    netlink::NetnsGuard in(topo_.node_netns);
    auto pinned = PinnedLbMaps::open({settings_.bpffs_dir});
    EXPECT_TRUE(pinned);
    loader::LbMaps maps(pinned->fds());
    return std::tuple{maps.frontends(), maps.frontend_gens(), maps.flows(), maps.prefilter()};
  };
  const pw_frontend_key vip80{htonl(kVip.value), htons(80), IPPROTO_TCP, PW_FRONTEND_SERVICE};
  const auto gen_of = [](const auto& frontends, const pw_frontend_key& k) -> std::optional<pw_frontend> {
    for (const auto& [key, fe] : frontends)
      if (std::memcmp(&key, &k, sizeof k) == 0) return fe;
    return std::nullopt;
  };

  auto [frontends, gens, flows, pf] = read();
  ASSERT_EQ(frontends.size(), 5u);
  for (const auto& [key, fe] : frontends) {
    EXPECT_EQ(fe.gen, gens.at(fe.id)) << "frontend id " << fe.id;
    EXPECT_GE(fe.gen, 1u) << "an id given to a frontend moves its gen on";
  }
  const auto before = gen_of(frontends, vip80);
  ASSERT_TRUE(before);
  std::size_t recorded = 0;
  for (const auto& [key, f] : flows)
    if (f.frontend_id == before->id) recorded += f.frontend_gen == before->gen;
  EXPECT_GE(recorded, 1u) << "the probe's flow carries the frontend's gen";

  EXPECT_EQ(pf.flags & PW_PREFILTER_ON4, PW_PREFILTER_ON4);
  EXPECT_TRUE(prefilter_admits(pf, kVip));
  EXPECT_TRUE(prefilter_admits(pf, topo_.node_address));
  EXPECT_FALSE(prefilter_admits(pf, net::Ipv4{0xC612633Au}));  // 198.18.99.58: nobody's

  // Port 80 removed, then added again: its id comes back with a gen its old flows do not carry.
  const std::vector<Frontend> all(first.frontends().begin(), first.frontends().end());
  std::vector<Frontend> without;
  for (const auto& f : all)
    if (f.key.port != 80) without.push_back(f);
  apply(DataplaneState::from_parts(without, {first.node_ports().begin(), first.node_ports().end()},
                                   {first.backend_sets().begin(), first.backend_sets().end()}));
  auto [frontends2, gens2, flows2, pf2] = read();
  EXPECT_FALSE(gen_of(frontends2, vip80));
  EXPECT_EQ(gens2.at(before->id), before->gen + 1) << "taking the id moved its gen on";
  apply(first);
  auto [frontends3, gens3, flows3, pf3] = read();
  const auto after = gen_of(frontends3, vip80);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->gen, gens3.at(after->id));
  for (const auto& [key, f] : flows3) {
    if (f.frontend_id == after->id) {
      EXPECT_NE(f.frontend_gen, after->gen) << "an old flow would be used";
    }
  }
  for (const auto& [key, fe] : frontends3) {
    if (fe.id != after->id) {
      EXPECT_EQ(fe.gen, gen_of(frontends, key)->gen) << "untouched frontends keep their gen";
    }
  }
  EXPECT_EQ(who_tcp(net::to_string(kVip), 80).port, 7000);
}

// The prefix filter follows frontends that come and go through apply_changes (the daemon's
// path), and a diff of members only leaves it as it is: it is rebuilt only when frontends are
// added or removed.
TEST_F(XdpDataplaneTest, ApplyChangesMovesThePrefilterWithItsFrontends) {
  netlink::NetnsGuard in(topo_.node_netns);
  XdpDataplane dp(settings_);
  const DataplaneState first = echo_state({member(0), member(1)});
  dp.apply(first);
  const net::Ipv4 outside{0xC612633Au};  // 198.18.99.58: outside the lab's service range
  const auto prefilter = [&] {
    auto pinned = PinnedLbMaps::open({settings_.bpffs_dir});
    EXPECT_TRUE(pinned);
    return loader::LbMaps(pinned->fds()).prefilter();
  };
  ASSERT_FALSE(prefilter_admits(prefilter(), outside));

  const auto with = [&](const DataplaneState& base, std::vector<Frontend> extra, std::vector<Member> members) {
    std::vector<Frontend> frontends(base.frontends().begin(), base.frontends().end());
    frontends.insert(frontends.end(), extra.begin(), extra.end());
    return DataplaneState::from_parts(frontends, {base.node_ports().begin(), base.node_ports().end()},
                                      {BackendSet{"svc/t/echo", std::move(members)}});
  };
  const Frontend extra{{outside, 80, config::Protocol::tcp}, 7000, "svc/t/echo", "outside"};
  const DataplaneState added = with(first, {extra}, {member(0), member(1)});
  dp.apply_changes(state::diff(first, added), added);
  EXPECT_TRUE(prefilter_admits(prefilter(), outside)) << "an added frontend outside the range is admitted";

  const DataplaneState drained = with(first, {extra}, {member(0), member(1, MemberState::draining)});
  const state::StateDiff members_only = state::diff(added, drained);
  ASSERT_TRUE(members_only.frontends.empty());
  dp.apply_changes(members_only, drained);
  EXPECT_TRUE(prefilter_admits(prefilter(), outside)) << "a member change keeps the filter";
  EXPECT_TRUE(prefilter_admits(prefilter(), kVip));

  const DataplaneState removed = with(first, {}, {member(0), member(1, MemberState::draining)});
  dp.apply_changes(state::diff(drained, removed), removed);
  EXPECT_FALSE(prefilter_admits(prefilter(), outside)) << "a removed frontend leaves the filter";
  EXPECT_TRUE(prefilter_admits(prefilter(), kVip));
}

}  // namespace
}  // namespace portway::dataplane::xdp
