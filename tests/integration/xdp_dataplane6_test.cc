// IPv6 on the fast path, controller side: what XdpDataplane writes into the IPv6 maps for a
// dual-stack state, that it reads all of it back (so diffs and drift repair work), the daemon's
// incremental path, the cgroup socket hooks for IPv6 sockets (and IPv4-mapped destinations), and
// IPv6 service and node-port traffic through the XDP/tc programs end to end. Lab topology with
// IPv6 from 2001:2::/48 (lab_ipv6.h); each test has its own namespaces and bpffs folder.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <tuple>

#include "dataplane/node_addresses.h"
#include "dataplane/xdp/flow_listing.h"
#include "dataplane/xdp/installed_view.h"
#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/pin_layout.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/cgroup_dir.h"
#include "lab_dataplanes.h"
#include "lab_ground.h"
#include "lab_ipv6.h"
#include "loader/lb_maps.h"
#include "loader/sock_maps.h"
#include "loader/unique_fd.h"
#include "loader/xdp_link.h"
#include "netlink/netns.h"
#include "state/diff.h"
#include "support/root.h"

namespace portway::dataplane::xdp {
namespace {

using state::BackendSet;
using state::DataplaneState;
using state::Frontend;
using state::Member;
using state::NodePort;
using lab::ProbeStatus;

const net::Ipv4 kVip4{0xC613000Au};  // 198.19.0.10
const char* const kVip6 = "2001:2:0:ff::10";
constexpr const char* kSet = "svc/t/echo";

net::Ipv6 v6(const char* text) { return *net::parse_ipv6(text); }

class XdpDataplane6Test : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    ground_ = std::make_unique<itest::LabGround>(itest::LabGroundSpec{
        "pw6x" + std::to_string(getpid() % 100000), 2, {7100}, {7101}, 120});
    topo_ = ground_->topo();
    itest::add_lab_ipv6(topo_);
    // The lab's test apps listen on 7100/7101 in both families; the echo servers take
    // 7000/7001, IPv4 included (IPv4-mapped destinations reach the IPv4 frontend).
    for (std::size_t i = 0; i < topo_.sandboxes.size(); ++i)
      servers_.push_back(std::make_unique<itest::Ipv6EchoServer>(topo_.sandboxes[i].netns, "sb" + std::to_string(i),
                                                                 7000, 7001));
    settings_ = itest::xdp_lab_settings(topo_, "/sys/fs/bpf/portway-xdp6test-" + std::to_string(getpid()));
  }

  void TearDown() override {
    servers_.clear();
    if (!ground_) return;
    try {
      netlink::NetnsGuard in(topo_.node_netns);
      XdpDataplane(settings_).remove_all();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "remove_all: " << e.what();
    }
    ground_.reset();
    std::error_code ec;
    std::filesystem::remove_all(settings_.bpffs_dir, ec);
  }

  // Member i with its IPv6 address (or without one).
  Member member(std::size_t i, bool with_ipv6 = true) const {
    Member m = ground_->member(i);  // the lab's sandboxes are dual-stack
    if (!with_ipv6) m.ipv6.reset();
    return m;
  }

  // svc/t/echo on 198.19.0.10 and 2001:2:0:ff::10: tcp 80 -> 7000, udp 53 -> 7001 in each
  // family; node ports 30080/tcp -> 7000, 30053/udp -> 7001.
  DataplaneState dual_state(std::vector<Member> members, bool with_ipv6_frontends = true) const {
    std::vector<Frontend> fs{Frontend{{kVip4, 80, config::Protocol::tcp}, 7000, kSet, "echo"},
                             Frontend{{kVip4, 53, config::Protocol::udp}, 7001, kSet, "dns"}};
    if (with_ipv6_frontends) {
      fs.push_back(Frontend{{v6(kVip6), 80, config::Protocol::tcp}, 7000, kSet, "echo"});
      fs.push_back(Frontend{{v6(kVip6), 53, config::Protocol::udp}, 7001, kSet, "dns"});
    }
    return DataplaneState::from_parts(std::move(fs),
                                      {NodePort{{30080, config::Protocol::tcp}, 7000, kSet, "echo"},
                                       NodePort{{30053, config::Protocol::udp}, 7001, kSet, "dns"}},
                                      {BackendSet{kSet, std::move(members)}});
  }

  ApplyReport apply(const DataplaneState& s) {
    netlink::NetnsGuard in(topo_.node_netns);
    return XdpDataplane(settings_).apply(s);
  }

  DataplaneState installed() {
    netlink::NetnsGuard in(topo_.node_netns);
    return XdpDataplane(settings_).installed();
  }

  // The pinned maps, opened with fds of the test's own.
  struct Maps {
    PinnedLbMaps pinned;
    loader::LbMaps maps;
  };
  std::unique_ptr<Maps> maps() const {
    auto pinned = PinnedLbMaps::open(PinLayout{settings_.bpffs_dir});
    if (!pinned) throw std::runtime_error("fast path not pinned");
    loader::LbMaps m(pinned->fds());
    return std::unique_ptr<Maps>(new Maps{std::move(*pinned), std::move(m)});
  }

  std::unique_ptr<itest::LabGround> ground_;
  lab::Topology topo_;
  std::vector<std::unique_ptr<itest::Ipv6EchoServer>> servers_;
  config::NodeSettings settings_;
};

bool same(const pw_in6& a, const pw_in6& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Everything of the IPv6 part lands in its map: frontends (with the set's id), node ports in
// both families with one id, members' IPv6 addresses, an IPv6 table naming only the members
// that have an IPv6 address, the service address, the node's IPv6 address as hairpin source.
TEST_F(XdpDataplane6Test, TheIpv6PartIsProgrammedIntoTheIpv6Maps) {
  const DataplaneState want = dual_state({member(0), member(1, false)});
  const auto report = apply(want);
  EXPECT_EQ(report.applied.frontends.added.size(), 4u);
  auto m = maps();
  auto& maps = m->maps;
  ASSERT_TRUE(maps.has_ipv6());

  std::map<std::pair<std::uint8_t, std::uint16_t>, pw_frontend> v4, v6s, v6np;
  for (const auto& [k, f] : maps.frontends()) v4[{k.kind, ntohs(k.port)}] = f;
  for (const auto& [k, f] : maps.frontends6()) {
    if (k.kind == PW_FRONTEND_NODE_PORT) {
      EXPECT_TRUE(is_unset(k.addr));
      v6np[{k.kind, ntohs(k.port)}] = f;
    } else {
      EXPECT_TRUE(same(k.addr, in6_of(v6(kVip6))));
      v6s[{k.kind, ntohs(k.port)}] = f;
    }
  }
  ASSERT_EQ(v6s.size(), 2u) << "tcp 80 and udp 53 on the IPv6 service address";
  ASSERT_EQ(v6np.size(), 2u) << "both node ports in pw_frontends6";
  const std::uint32_t set_id = v4.at({PW_FRONTEND_SERVICE, 80}).set_id;
  EXPECT_EQ(v6s.at({PW_FRONTEND_SERVICE, 80}).set_id, set_id) << "the Service's one backend set";
  EXPECT_EQ(ntohs(v6s.at({PW_FRONTEND_SERVICE, 80}).target_port), 7000);
  EXPECT_NE(v6s.at({PW_FRONTEND_SERVICE, 80}).id, v4.at({PW_FRONTEND_SERVICE, 80}).id)
      << "an IPv6 frontend is a frontend of its own (own counters)";
  EXPECT_EQ(v6np.at({PW_FRONTEND_NODE_PORT, 30080}).id, v4.at({PW_FRONTEND_NODE_PORT, 30080}).id)
      << "a node port is one frontend in both families";

  // Backend ids of the two members, by their IPv4 address.
  std::map<std::uint32_t, std::uint32_t> id_of;  // host-order IPv4 -> backend id
  const auto backends = maps.all_backends();
  for (std::uint32_t id = 0; id < backends.size(); ++id)
    if (backends[id].state != PW_BACKEND_UNUSED) id_of[ntohl(backends[id].addr)] = id;
  ASSERT_EQ(id_of.size(), 2u);
  const std::uint32_t b0 = id_of.at(member(0).ipv4->value), b1 = id_of.at(member(1).ipv4->value);
  EXPECT_TRUE(same(maps.backend_addr6(b0), in6_of(*member(0).ipv6)));
  EXPECT_TRUE(is_unset(maps.backend_addr6(b1))) << "member 1 has no IPv6 address";

  const auto table4 = maps.backend_set(set_id);
  const auto table6 = maps.backend_set(set_id, loader::SetFamily::ipv6);
  EXPECT_EQ(std::set<std::uint32_t>(table4.begin(), table4.end()), (std::set<std::uint32_t>{b0, b1}));
  ASSERT_FALSE(table6.empty());
  EXPECT_EQ(std::set<std::uint32_t>(table6.begin(), table6.end()), std::set<std::uint32_t>{b0})
      << "the IPv6 table names the members with an IPv6 address only";

  const auto svc6 = maps.service_addrs6();
  ASSERT_EQ(svc6.size(), 1u);
  EXPECT_TRUE(same(svc6[0], in6_of(v6(kVip6))));
  const auto node6 = maps.node_addrs6();
  ASSERT_EQ(node6.size(), 1u) << "the uplink's global IPv6 address (its link-local one left out)";
  EXPECT_TRUE(same(node6[0].first, in6_of(v6(itest::kNode6))));
  EXPECT_EQ(node6[0].second.flags, PW_NODE_ADDR_HAIRPIN);

  EXPECT_EQ(installed(), want) << "the IPv6 part reads back";
  EXPECT_TRUE(apply(want).applied.empty()) << "a second sync changes nothing";
}

// The node's IPv6 addresses: configured ones in their order (the first is the hairpin source),
// and without configuration the uplinks' global ones.
TEST_F(XdpDataplane6Test, NodeAddressesOfBothFamilies) {
  netlink::NetnsGuard in(topo_.node_netns);
  const auto from_uplink = node_ipv6_addresses(settings_);
  ASSERT_EQ(from_uplink.size(), 1u);
  EXPECT_EQ(from_uplink[0], v6(itest::kNode6));
  EXPECT_EQ(node_ipv4_addresses(settings_).size(), 1u);
  config::NodeSettings configured = settings_;
  configured.node_addresses = {"198.18.0.1", "2001:2::7", "2001:2::1"};
  EXPECT_EQ(node_ipv6_addresses(configured), (std::vector<net::Ipv6>{v6("2001:2::7"), v6("2001:2::1")}));
  EXPECT_EQ(node_ipv4_addresses(configured), std::vector<net::Ipv4>{topo_.node_address});
}

// Members gaining, changing and losing their IPv6 address, IPv6 frontends going away: each
// reaches the maps, through apply() and through the daemon's apply_changes().
TEST_F(XdpDataplane6Test, Ipv6ChangesReachTheMapsThroughBothPaths) {
  const DataplaneState first = dual_state({member(0), member(1, false)});
  apply(first);
  auto ipv4_table_ids = [&] {
    auto m = maps();
    const std::uint32_t set_id = m->maps.frontends6().front().second.set_id;
    const auto table = m->maps.backend_set(set_id, loader::SetFamily::ipv4);
    return std::set<std::uint32_t>(table.begin(), table.end());
  };
  const auto ids_before = ipv4_table_ids();
  // apply_changes: member 1 gains an IPv6 address.
  const DataplaneState second = dual_state({member(0), member(1)});
  {
    netlink::NetnsGuard in(topo_.node_netns);
    XdpDataplane dp(settings_);
    (void)dp.installed();
    dp.apply_changes(state::diff(first, second), second);
  }
  EXPECT_EQ(installed(), second);
  EXPECT_EQ(ipv4_table_ids(), ids_before)
      << "a member gaining an IPv6 address keeps its backend id, so its IPv4 flows stay";
  {
    auto m = maps();
    const auto f = m->maps.frontends6();
    const std::uint32_t set_id = f.front().second.set_id;
    const auto table6 = m->maps.backend_set(set_id, loader::SetFamily::ipv6);
    EXPECT_EQ(std::set<std::uint32_t>(table6.begin(), table6.end()).size(), 2u)
        << "the IPv6 table was rebuilt with the new IPv6 member";
  }
  // apply(): the IPv6 frontends go; the IPv6 service address goes with them.
  const DataplaneState third = dual_state({member(0), member(1)}, false);
  const auto r = apply(third);
  EXPECT_EQ(r.applied.frontends.removed.size(), 2u);
  EXPECT_EQ(installed(), third);
  auto m = maps();
  EXPECT_EQ(m->maps.frontends6().size(), 2u) << "only the node ports' IPv6 entries stay";
  EXPECT_TRUE(m->maps.service_addrs6().empty());
  // The Service goes: its members' IPv6 addresses and its IPv6 table go too.
  apply(DataplaneState{});
  auto after = maps();
  EXPECT_TRUE(after->maps.frontends6().empty());
  for (const auto& a : after->maps.all_backend_addrs6()) EXPECT_TRUE(is_unset(a));
  for (std::uint32_t set = 0; set < settings_.maps.backend_sets; ++set)
    ASSERT_EQ(after->maps.backend_set_descriptor(set, loader::SetFamily::ipv6), 0u) << "set " << set;
}

// Drift in the IPv6 maps is found on read-back and repaired by the next apply, although the
// states' diff is empty: a node port's missing IPv6 entry, an IPv6 frontend nobody owns, an
// IPv6 frontend deleted by hand, a member's IPv6 address wiped.
TEST_F(XdpDataplane6Test, Ipv6DriftIsFoundOnReadBackAndRepaired) {
  const DataplaneState want = dual_state({member(0), member(1)});
  apply(want);
  std::uint32_t wiped = 0;
  {
    auto m = maps();
    auto& maps = m->maps;
    pw_frontend6_key np{};
    np.port = htons(30080);
    np.proto = IPPROTO_TCP;
    np.kind = PW_FRONTEND_NODE_PORT;
    ASSERT_TRUE(maps.erase_frontend6(np));
    pw_frontend6_key svc{};
    svc.addr = in6_of(v6(kVip6));
    svc.port = htons(53);
    svc.proto = IPPROTO_UDP;
    svc.kind = PW_FRONTEND_SERVICE;
    ASSERT_TRUE(maps.erase_frontend6(svc));
    pw_frontend6_key stray{};
    stray.addr = in6_of(v6("2001:2:0:ff::99"));
    stray.port = htons(9);
    stray.proto = IPPROTO_TCP;
    stray.kind = PW_FRONTEND_SERVICE;
    pw_frontend junk{};
    junk.id = 500;
    junk.set_id = 200;  // no such set
    maps.upsert_frontend6(stray, junk);
    const auto backends = maps.all_backends();
    for (std::uint32_t id = 0; id < backends.size(); ++id)
      if (backends[id].state != PW_BACKEND_UNUSED) wiped = id;
    const std::uint32_t ids[] = {wiped};
    maps.clear_backend_addrs6(ids);
  }
  EXPECT_NE(installed(), want) << "the deleted IPv6 frontend and the wiped address show";
  const auto r = apply(want);
  EXPECT_EQ(r.applied.frontends.added.size(), 1u) << "the deleted IPv6 frontend is added again";
  EXPECT_EQ(installed(), want);
  auto m = maps();
  std::size_t node_ports6 = 0;
  for (const auto& [k, f] : m->maps.frontends6()) {
    node_ports6 += k.kind == PW_FRONTEND_NODE_PORT ? 1 : 0;
    EXPECT_FALSE(same(k.addr, in6_of(v6("2001:2:0:ff::99")))) << "the stray IPv6 frontend is removed";
  }
  EXPECT_EQ(node_ports6, 2u) << "the node port's missing IPv6 entry is rewritten";
  // The member read back without its IPv6 address is another member (a member is its address
  // pair), but the repair gives the wanted one the same backend id: its IPv4 flows, which
  // name that id and its unchanged IPv4 address, stay on it.
  const auto backends = m->maps.all_backends();
  ASSERT_LT(wiped, backends.size());
  EXPECT_NE(backends[wiped].state, PW_BACKEND_UNUSED) << "the repaired member keeps its backend id";
  EXPECT_FALSE(is_unset(m->maps.backend_addr6(wiped))) << "and has its IPv6 address again";
  std::size_t used = 0;
  for (std::uint32_t id = 0; id < backends.size(); ++id) {
    if (backends[id].state == PW_BACKEND_UNUSED) continue;
    ++used;
    EXPECT_FALSE(is_unset(m->maps.backend_addr6(id))) << "backend " << id << " (wiped: " << wiped << ")";
  }
  EXPECT_EQ(used, 2u);
}

// Processes on the node reach IPv6 frontends through connect6/getpeername6 without any packet
// translation (no XDP/tc IPv6 path involved), see the frontend as their peer, are refused on an
// undeclared port; an IPv4-mapped destination on an IPv6 socket gets the IPv4 frontend.
TEST_F(XdpDataplane6Test, NodeSocketsReachIpv6FrontendsThroughTheSocketHooks) {
  apply(dual_state({member(0), member(1)}));
  std::set<std::string> seen;
  for (int i = 0; i < 12; ++i) {
    const auto e = itest::tcp6_echo_in_cgroup(settings_.cgroup, topo_.node_netns, kVip6, 80);
    ASSERT_TRUE(e.ok) << e.error;
    EXPECT_EQ(e.port, 7000);
    EXPECT_EQ(e.peer, std::string("[") + kVip6 + "]:80") << "getpeername shows the frontend";
    seen.insert(e.sandbox);
  }
  EXPECT_EQ(seen.size(), 2u) << "12 sockets over 2 IPv6 backends all landed on one";
  const auto np = itest::tcp6_echo_in_cgroup(settings_.cgroup, topo_.node_netns, itest::kNode6, 30080);
  ASSERT_TRUE(np.ok) << "node port on the node's IPv6 address: " << np.error;
  EXPECT_EQ(np.port, 7000);
  const auto undeclared = itest::tcp6_echo_in_cgroup(settings_.cgroup, topo_.node_netns, kVip6, 5999);
  EXPECT_FALSE(undeclared.ok);
  EXPECT_NE(undeclared.error.find("refused"), std::string::npos) << undeclared.error;
  const auto udp = itest::udp6_unconnected_in_cgroup(settings_.cgroup, topo_.node_netns, kVip6, 53);
  ASSERT_TRUE(udp.ok) << "unconnected UDP (sendmsg6): " << udp.error;
  EXPECT_EQ(udp.port, 7001);
  EXPECT_EQ(udp.peer, std::string("[") + kVip6 + "]:53") << "recvmsg6 shows the frontend as the source";
  const auto mapped = itest::tcp6_echo_in_cgroup(settings_.cgroup, topo_.node_netns,
                                                 "::ffff:" + net::to_string(kVip4), 80);
  ASSERT_TRUE(mapped.ok) << "IPv4-mapped destination: " << mapped.error;
  EXPECT_EQ(mapped.port, 7000);
  EXPECT_EQ(mapped.peer, "[::ffff:" + net::to_string(kVip4) + "]:80");

  netlink::NetnsGuard in(topo_.node_netns);
  const PinLayout pins{settings_.bpffs_dir};
  loader::UniqueFd config = loader::open_pinned(pins.map("pw_sock_config"));
  loader::UniqueFd reverse = loader::open_pinned(pins.map("pw_sock_reverse"));
  loader::UniqueFd reverse6 = loader::open_pinned(pins.map("pw_sock_reverse6"));
  const loader::SockMaps sock({config.get(), reverse.get(), reverse6.get()});
  EXPECT_GE(sock.reverse6_count(), 14u) << "one entry per translated IPv6 socket";
  std::set<std::string> hooks;
  for (const auto& a : socket_hook_attachments(pins)) hooks.insert(a.hook);
  for (const char* h : {"cgroup-connect6", "cgroup-sendmsg6", "cgroup-recvmsg6", "cgroup-getpeername6"})
    EXPECT_TRUE(hooks.count(h)) << h << " is attached";
}

// A backend removed while a node process holds IPv6 sockets the hooks pointed at it: the sync
// ends them (SOCK_DESTROY: ECONNABORTED pending), as it does for IPv4 sockets.
TEST_F(XdpDataplane6Test, NodeIpv6SocketsToARemovedBackendAreEnded) {
  apply(dual_state({member(0), member(1)}));
  const std::string node_netns = topo_.node_netns;
  const lab::ProbeResult r = lab::probe_in_cgroup(settings_.cgroup, [&] {
    lab::ProbeResult out;
    netlink::NetnsGuard in(node_netns);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(80);
    inet_pton(AF_INET6, kVip6, &to.sin6_addr);
    const int tcp = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval tv{2, 0};
    setsockopt(tcp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256] = {};
    ssize_t n = -1;
    if (connect(tcp, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 && send(tcp, "WHO\n", 4, MSG_NOSIGNAL) == 4)
      n = recv(tcp, buf, sizeof buf - 1, 0);
    const std::string answer = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    const bool victim_is_0 = answer.find("sandbox=sb0 ") != std::string::npos;
    // The server closed its side after answering: without SOCK_DESTROY the socket has no error.
    int before = -1, after = -1;
    socklen_t len = sizeof before;
    getsockopt(tcp, SOL_SOCKET, SO_ERROR, &before, &len);
    const std::string applied = [&] {
      try {
        XdpDataplane(settings_).apply(dual_state({member(victim_is_0 ? 1 : 0)}));
        return std::string("ok");
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
    }();
    len = sizeof after;
    getsockopt(tcp, SOL_SOCKET, SO_ERROR, &after, &len);
    close(tcp);
    out.status = ProbeStatus::ok;
    out.reply = "answer=" + std::to_string(!answer.empty()) + " apply=" + applied + " before=" + std::to_string(before) +
                " after=" + std::to_string(after);
    return out;
  });
  ASSERT_EQ(r.status, ProbeStatus::ok) << r.error;
  EXPECT_EQ(r.reply, "answer=1 apply=ok before=0 after=" + std::to_string(ECONNABORTED));
}

// A member has the addresses its sandbox has (docs/model.md "Address families"). An IPv6-only
// member is a pw_backends entry with addr 0, named only by its set's IPv6 Maglev table; an
// IPv4-only one only by the IPv4 table. IPv6 traffic reaches the IPv6-only member, IPv4 traffic
// never does, and what is read back is what was written (no drift, nothing re-applied).
TEST_F(XdpDataplane6Test, Ipv6OnlyMembersServeIpv6AndIpv4OnlyMembersIpv4) {
  Member v4_only = member(0, false);
  Member v6_only = member(1);
  v6_only.ipv4.reset();
  // IPv4 81/tcp -> 7100 (the lab's test app), IPv6 80/tcp -> 7000 (the IPv6 echo server).
  const auto state_of = [&](std::vector<Member> members) {
    return DataplaneState::from_parts({Frontend{{kVip4, 81, config::Protocol::tcp}, 7100, kSet, "app"},
                                       Frontend{{v6(kVip6), 80, config::Protocol::tcp}, 7000, kSet, "echo"}},
                                      {}, {BackendSet{kSet, std::move(members)}});
  };
  // The tables of the set, as backend ids, and the used backends.
  const auto tables = [&] {
    auto m = maps();
    const std::uint32_t set_id = m->maps.frontends().at(0).second.set_id;
    const auto t4 = m->maps.backend_set(set_id), t6 = m->maps.backend_set(set_id, loader::SetFamily::ipv6);
    std::map<std::uint32_t, pw_backend> used;
    const auto backends = m->maps.all_backends();
    for (std::uint32_t id = 0; id < backends.size(); ++id)
      if (backends[id].state != PW_BACKEND_UNUSED) used[id] = backends[id];
    return std::make_tuple(std::set<std::uint32_t>(t4.begin(), t4.end()), std::set<std::uint32_t>(t6.begin(), t6.end()),
                           used);
  };

  // Only the IPv6-only member: IPv6 is served, the IPv4 frontend has no member and refuses.
  const DataplaneState only6 = state_of({v6_only});
  apply(only6);
  EXPECT_EQ(installed(), only6) << "an addr-0 backend reads back as the IPv6-only member";
  EXPECT_TRUE(apply(only6).applied.empty()) << "no drift seen";
  {
    const auto [t4, t6, used] = tables();
    ASSERT_EQ(used.size(), 1u);
    const std::uint32_t id = used.begin()->first;
    EXPECT_EQ(used.begin()->second.addr, 0u) << "IPv6-only: addr 0";
    EXPECT_TRUE(same(maps()->maps.backend_addr6(id), in6_of(*v6_only.ipv6)));
    EXPECT_TRUE(t4.empty()) << "no IPv4 table without an IPv4 member";
    EXPECT_EQ(t6, std::set<std::uint32_t>{id});
  }
  for (int i = 0; i < 6; ++i) {
    const auto e = itest::tcp6_echo(topo_.client_netns, kVip6, 80);
    ASSERT_TRUE(e.ok) << "TCP to [" << kVip6 << "]:80: " << e.error;
    EXPECT_EQ(e.sandbox, "sb1");
    EXPECT_EQ(e.client, itest::kClient6);
  }
  const auto refused = lab::tcp_probe(topo_.client_netns, net::to_string(kVip4), 81);
  EXPECT_EQ(refused.status, ProbeStatus::refused) << "IPv4 must not reach the IPv6-only member: " << refused.reply;

  // Both kinds in one set: each family keeps to its own members.
  const DataplaneState mixed = state_of({v4_only, v6_only});
  apply(mixed);
  EXPECT_EQ(installed(), mixed);
  EXPECT_TRUE(apply(mixed).applied.empty()) << "no drift seen";
  {
    netlink::NetnsGuard in(topo_.node_netns);
    EXPECT_TRUE(XdpDataplane(settings_).repair(nullptr, mixed).counts.empty()) << "the drift check finds nothing";
  }
  {
    const auto [t4, t6, used] = tables();
    ASSERT_EQ(used.size(), 2u);
    std::uint32_t id4 = 0, id6 = 0;
    for (const auto& [id, be] : used) (be.addr == 0 ? id6 : id4) = id;
    EXPECT_EQ(ntohl(used.at(id4).addr), v4_only.ipv4->value);
    EXPECT_TRUE(is_unset(maps()->maps.backend_addr6(id4))) << "IPv4-only: no IPv6 address";
    EXPECT_EQ(t4, std::set<std::uint32_t>{id4}) << "the IPv4 table names the IPv4 member only";
    EXPECT_EQ(t6, std::set<std::uint32_t>{id6}) << "the IPv6 table names the IPv6 member only";
  }
  for (int i = 0; i < 6; ++i) {
    const auto e = itest::tcp6_echo(topo_.client_netns, kVip6, 80);
    ASSERT_TRUE(e.ok) << e.error;
    EXPECT_EQ(e.sandbox, "sb1") << "IPv6 flows go to the IPv6-only member";
    const auto r = lab::tcp_probe(topo_.client_netns, net::to_string(kVip4), 81);
    ASSERT_EQ(r.status, ProbeStatus::ok) << r.error;
    EXPECT_EQ(itest::who_sandbox(r), "sb0") << "IPv4 flows go to the IPv4-only member";
  }
}

// ---- traffic through the XDP/tc IPv6 packet path (bpf/lib/*6.h) --------------------------

TEST_F(XdpDataplane6Test, Ipv6ServiceTrafficIsForwardedWithTheClientAddressPreserved) {
  apply(dual_state({member(0), member(1)}));
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    const auto e = itest::tcp6_echo(topo_.client_netns, kVip6, 80);
    ASSERT_TRUE(e.ok) << "TCP to [" << kVip6 << "]:80: " << e.error;
    EXPECT_EQ(e.port, 7000) << "port 80 maps to its target 7000";
    EXPECT_EQ(e.client, itest::kClient6) << "no masquerade";
    EXPECT_EQ(e.peer, std::string("[") + kVip6 + "]:80") << "the reply comes from the frontend";
    seen.insert(e.sandbox);
  }
  EXPECT_EQ(seen.size(), 2u);
  const auto udp = itest::udp6_echo(topo_.client_netns, kVip6, 53);
  ASSERT_TRUE(udp.ok) << "UDP to [" << kVip6 << "]:53: " << udp.error;
  EXPECT_EQ(udp.port, 7001);
  EXPECT_EQ(udp.client, itest::kClient6);

  // The flows are IPv6 flows, listed for `portway dump flows`, and counted in status.
  const auto flows = read_flows(PinLayout{settings_.bpffs_dir});
  ASSERT_TRUE(flows.has_value());
  std::size_t v6_flows = 0;
  for (const auto& f : *flows)
    if (std::holds_alternative<net::Ipv6>(f.frontend)) {
      ++v6_flows;
      EXPECT_EQ(f.frontend, net::IpAddress{v6(kVip6)});
      EXPECT_EQ(f.client, net::IpAddress{v6(itest::kClient6)});
    }
  EXPECT_GE(v6_flows, 17u);
  const auto fill = read_flow6_fill(PinLayout{settings_.bpffs_dir});
  ASSERT_TRUE(fill.has_value());
  EXPECT_GE(fill->entries, 17u);
}

TEST_F(XdpDataplane6Test, Ipv6NodePortsAnswerOnTheNodesIpv6Address) {
  apply(dual_state({member(0), member(1)}));
  const auto tcp = itest::tcp6_echo(topo_.client_netns, itest::kNode6, 30080);
  ASSERT_TRUE(tcp.ok) << "TCP to [" << itest::kNode6 << "]:30080: " << tcp.error;
  EXPECT_EQ(tcp.port, 7000);
  EXPECT_EQ(tcp.client, itest::kClient6);
  const auto udp = itest::udp6_echo(topo_.client_netns, itest::kNode6, 30053);
  ASSERT_TRUE(udp.ok) << "UDP to [" << itest::kNode6 << "]:30053: " << udp.error;
  EXPECT_EQ(udp.port, 7001);
}

// A removed backend's IPv6 flows: the member leaves, its flows find it gone.
TEST_F(XdpDataplane6Test, ARemovedBackendsIpv6FlowsAreListedAsGone) {
  apply(dual_state({member(0), member(1)}));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(itest::tcp6_echo(topo_.client_netns, kVip6, 80).ok);
  apply(dual_state({member(0)}));
  const auto flows = read_flows(PinLayout{settings_.bpffs_dir});
  ASSERT_TRUE(flows.has_value());
  std::size_t gone = 0, to_removed = 0;
  for (const auto& f : *flows) {
    if (f.backend != net::IpAddress{v6(ground_->sandbox6(1).c_str())}) continue;
    ++to_removed;
    gone += f.state == "backend gone" ? 1 : 0;
  }
  EXPECT_EQ(gone, to_removed);
  for (int i = 0; i < 8; ++i) {
    const auto e = itest::tcp6_echo(topo_.client_netns, kVip6, 80);
    ASSERT_TRUE(e.ok) << e.error;
    EXPECT_EQ(e.sandbox, "sb0") << "new IPv6 flows go to the remaining member only";
  }
}

}  // namespace
}  // namespace portway::dataplane::xdp
