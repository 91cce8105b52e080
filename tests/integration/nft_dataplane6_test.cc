// The nftables dataplane over IPv6, one test per semantics row of docs/dataplane.md, with real
// TCP and UDP over the lab's IPv6 addresses (2001:2::/48): the same table as IPv4 in the same
// `inet portway` table (docs/nftables.md "IPv6").
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "dataplane/conntrack/conntrack_table.h"
#include "netlink/links.h"
#include "nft_lab.h"

namespace portway::dataplane::nft::testing {
namespace {

using state::MemberState;
using lab::ProbeStatus;
using lab::tcp_probe;
using lab::udp_probe;
using namespace std::chrono_literals;

class NftDataplane6Test : public NftLabTest {
 protected:
  std::string client6() const { return net::to_string(topo_.client_address6); }
  std::string node6() const { return net::to_string(topo_.node_address6); }
};

TEST_F(NftDataplane6Test, EachPortGoesToItsOwnTargetAndTheClientAddressArrives) {
  const auto r = dp_->apply(lab_state_dual(all_members()));
  EXPECT_EQ(r.applied.frontends.added.size(), 8u);
  const auto http = who_of(tcp_probe(topo_.client_netns, kVip6, 80));
  EXPECT_EQ(http.port, 7000);
  EXPECT_EQ(http.client_addr, client6()) << "no masquerade: the backend sees the real IPv6 client";
  EXPECT_EQ(http.sandbox.rfind("sb", 0), 0u);
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, kVip6, 81)).port, 7100);
  const auto dns = who_of(udp_probe(topo_.client_netns, kVip6, 53));
  EXPECT_EQ(dns.port, 7001);
  EXPECT_EQ(dns.client_addr, client6());
  // IPv4 keeps working next to it, on the same table.
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, kVip, 80)).client_addr, "198.18.0.2");
}

TEST_F(NftDataplane6Test, NewFlowsSpreadOverTheRunningMembersWithAnIpv6Address) {
  auto members = all_members();
  members[2].ipv6.reset();  // sb2 has no IPv6 address: it can take IPv4 flows only
  dp_->apply(lab_state_dual(members));
  std::map<std::string, int> seen;
  for (int i = 0; i < 60; ++i) ++seen[who_sandbox(tcp_probe(topo_.client_netns, kVip6, 80))];
  EXPECT_EQ(seen.count(""), 0u);
  EXPECT_EQ(seen.count("sb2"), 0u) << "a member without an IPv6 address got an IPv6 flow";
  EXPECT_EQ(seen.size(), 2u);
  for (const auto& [sb, n] : seen) EXPECT_GE(n, 5) << sb;
  std::set<std::string> v4;
  for (int i = 0; i < 60 && v4.size() < 3; ++i) v4.insert(who_sandbox(tcp_probe(topo_.client_netns, kVip, 80)));
  EXPECT_EQ(v4.size(), 3u) << "IPv4 frontends still use every member";
  EXPECT_EQ(dp_->installed(), lab_state_dual(members));
}

// A member has the addresses its sandbox has (docs/model.md "Address families"): an IPv6-only
// member is in the IPv6 slots (and draining6) only, an IPv4-only one in the IPv4 slots only.
// Each family's new flows go to its own members; a Service whose only members are IPv6-only
// refuses IPv4. Incremental changes, the read-back and the drift check all agree.
TEST_F(NftDataplane6Test, Ipv6OnlyMembersServeIpv6AndIpv4OnlyMembersIpv4) {
  auto members = all_members();
  members[0].ipv6.reset();  // sb0: IPv4 only
  members[1].ipv4.reset();  // sb1, sb2: IPv6 only
  members[2].ipv4.reset();
  // The drift check dumps the table and reconstructs the members from it: nothing differs.
  const auto read_back_fresh = [&](const state::DataplaneState& want) {
    Repairs r;
    in_node([&] { r = dp_->repair(nullptr, want); });
    EXPECT_TRUE(r.counts.empty()) << (r.notes.empty() ? "" : r.notes[0]);
  };

  const auto only6 = lab_state_dual({members[1], members[2]});
  dp_->apply(only6);
  EXPECT_EQ(dp_->installed(), only6);
  read_back_fresh(only6);
  std::set<std::string> seen6;
  for (int i = 0; i < 40 && seen6.size() < 2; ++i) seen6.insert(who_sandbox(tcp_probe(topo_.client_netns, kVip6, 80)));
  EXPECT_EQ(seen6, (std::set<std::string>{"sb1", "sb2"}));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip, 80).status, ProbeStatus::refused)
      << "IPv4 must not reach an IPv6-only member";

  // The IPv4-only member joins (incremental apply): IPv4 goes to it alone, IPv6 never does.
  const auto mixed = lab_state_dual(members);
  EXPECT_FALSE(dp_->apply(mixed).applied.empty());
  EXPECT_EQ(dp_->installed(), mixed);
  read_back_fresh(mixed);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(who_sandbox(tcp_probe(topo_.client_netns, kVip, 80)), "sb0");
    EXPECT_NE(who_sandbox(tcp_probe(topo_.client_netns, kVip6, 80)), "sb0");
  }

  // An IPv6-only member drains: kept for read-back in draining6, no new flows.
  members[2].state = MemberState::draining;
  const auto drained = lab_state_dual(members);
  dp_->apply(drained);
  EXPECT_EQ(dp_->installed(), drained);
  read_back_fresh(drained);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(who_sandbox(tcp_probe(topo_.client_netns, kVip6, 80)), "sb1");

  // Counters name a member by its only address, never 0.0.0.0.
  const auto stats = dp_->stats();
  std::set<std::string> named;
  for (const auto& [key, c] : stats.backends) named.insert(key.substr(key.rfind(' ') + 1));
  EXPECT_TRUE(named.count(sandbox6(1))) << "the IPv6-only member's counters";
  EXPECT_FALSE(named.count("0.0.0.0"));
}

TEST_F(NftDataplane6Test, AFlowKeepsItsBackendAcrossFlowsWithTheSameTuple) {
  dp_->apply(lab_state_dual(all_members()));
  const std::uint16_t port = 40080;
  const std::string first = who_sandbox(udp_probe(topo_.client_netns, kVip6, 53, "WHO", 1000ms, port));
  ASSERT_FALSE(first.empty());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(who_sandbox(udp_probe(topo_.client_netns, kVip6, 53, "WHO", 1000ms, port)), first);
}

TEST_F(NftDataplane6Test, NodePortsAnswerOnTheNodesIpv6AddressesOnly) {
  dp_->apply(lab_state_dual(all_members()));
  const auto via_node = who_of(tcp_probe(topo_.client_netns, node6(), kNodePort));
  EXPECT_EQ(via_node.port, 7000);
  EXPECT_EQ(via_node.client_addr, client6());
  const auto through = who_of(tcp_probe(topo_.client_netns, sandbox6(1), kNodePort));
  EXPECT_EQ(through.sandbox, "sb1") << "a node-port number to a sandbox's IPv6 address passes untouched";
  EXPECT_EQ(through.port, kNodePort);
  EXPECT_EQ(tcp_probe(topo_.client_netns, node6(), 30081).status, ProbeStatus::refused);
  EXPECT_EQ(dp_->stats().drops.at("undeclared_port"), 0u);
}

TEST_F(NftDataplane6Test, AnIpv6AddressAddedToTheUplinkIsServedAfterTheNextApply) {
  config::NodeSettings settings = node_settings();
  settings.node_addresses.clear();
  std::unique_ptr<NftDataplane> dp;
  in_node([&] { dp = std::make_unique<NftDataplane>(settings); });
  const auto state = lab_state_dual(all_members());
  in_node([&] { dp->apply(state); });
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, node6(), kNodePort)).port, 7000);
  const std::string added = "2001:2::9";
  in_node([&] { netlink::add_address(topo_.uplink, *net::parse_ipv6(added), 64); });
  EXPECT_EQ(tcp_probe(topo_.client_netns, added, kNodePort).status, ProbeStatus::refused);
  ApplyReport r;
  in_node([&] { r = dp->apply(state); });
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "node ports answer on: 198.18.0.1 2001:2::1 2001:2::9");
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, added, kNodePort)).port, 7000);
}

TEST_F(NftDataplane6Test, ASandboxReachingItselfIsMasqueradedOthersKeepTheirAddress) {
  dp_->apply(lab_state_dual(all_members()));
  int hairpins = 0, others = 0;
  for (int i = 0; i < 60 && (hairpins < 2 || others < 2); ++i) {
    const auto w = who_of(tcp_probe(topo_.sandboxes[0].netns, kVip6, 80));
    if (w.sandbox == "sb0") {
      ++hairpins;
      EXPECT_EQ(w.client_addr, net::to_string(topo_.sandboxes[0].gateway6)) << "hairpin: source NAT to the node";
    } else {
      ++others;
      EXPECT_EQ(w.client_addr, sandbox6(0));
    }
  }
  EXPECT_GE(hairpins, 2);
  EXPECT_GE(others, 2);
}

TEST_F(NftDataplane6Test, ConnectionsFromTheNodeItselfAreBalancedToo) {
  dp_->apply(lab_state_dual(all_members()));
  EXPECT_EQ(who_of(tcp_probe(topo_.node_netns, kVip6, 80)).port, 7000);
  EXPECT_EQ(who_of(udp_probe(topo_.node_netns, kVip6, 53)).port, 7001);
  EXPECT_EQ(who_of(tcp_probe(topo_.node_netns, node6(), kNodePort)).port, 7000);
}

TEST_F(NftDataplane6Test, FrontendsWithoutIpv6BackendsRefuseWithResetOrPortUnreachable) {
  dp_->apply(lab_state_dual(all_members()));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kEmptyVip6, 80).status, ProbeStatus::refused);
  EXPECT_EQ(udp_probe(topo_.client_netns, kEmptyVip6, 80).status, ProbeStatus::refused);
  // Members that have no IPv6 address: the IPv6 side of the Service has no backend, its IPv4
  // side still answers.
  auto v4_only = all_members();
  for (auto& m : v4_only) m.ipv6.reset();
  dp_->apply(lab_state_dual(v4_only));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip6, 80).status, ProbeStatus::refused);
  EXPECT_EQ(udp_probe(topo_.client_netns, kVip6, 53).status, ProbeStatus::refused);
  EXPECT_EQ(tcp_probe(topo_.client_netns, node6(), kNodePort).status, ProbeStatus::refused);
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, kVip, 80)).port, 7000);
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, net::to_string(topo_.node_address), kNodePort)).port, 7000);
  const Stats st = dp_->stats();
  EXPECT_EQ(st.frontends.at("[2001:2:1::8]:80/tcp").rejected, 1u);
  EXPECT_EQ(st.frontends.at("[2001:2:1::7]:80/tcp").rejected, 1u);
  EXPECT_EQ(st.frontends.at("[2001:2:1::7]:53/udp").rejected, 1u);
  EXPECT_EQ(st.frontends.at("node:30080/tcp").rejected, 1u);
  EXPECT_EQ(st.drops.at("no_backend"), 4u);
  EXPECT_EQ(st.drops.at("undeclared_port"), 1u) << "UDP to the TCP-only port of the backendless address";
}

TEST_F(NftDataplane6Test, UndeclaredPortsAndProtocolsOfAnIpv6ServiceAddressAreRefused) {
  dp_->apply(lab_state_dual(all_members()));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip6, 82).status, ProbeStatus::refused);
  EXPECT_EQ(udp_probe(topo_.client_netns, kVip6, 82).status, ProbeStatus::refused);
  EXPECT_EQ(udp_probe(topo_.client_netns, kVip6, 80).status, ProbeStatus::refused);
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip6, 53).status, ProbeStatus::refused);
  EXPECT_EQ(dp_->stats().drops.at("undeclared_port"), 4u);
}

TEST_F(NftDataplane6Test, DrainingKeepsEstablishedFlowsAndTakesNoNewOnes) {
  dp_->apply(lab_state_dual(all_members()));
  TcpConnection conn(topo_.client_netns, kVip6, 80);
  ASSERT_TRUE(conn.connected());
  const std::string pinned = who_sandbox(conn.exchange("WHO\n"));
  ASSERT_FALSE(pinned.empty());
  const std::size_t index = static_cast<std::size_t>(pinned.back() - '0');
  auto members = all_members();
  members[index].state = MemberState::draining;
  dp_->apply(lab_state_dual(members));
  EXPECT_EQ(conn.exchange("still there\n").reply, "still there\n");
  for (int i = 0; i < 30; ++i) EXPECT_NE(who_sandbox(tcp_probe(topo_.client_netns, kVip6, 80)), pinned);
  for (auto& m : members) m.state = MemberState::draining;
  dp_->apply(lab_state_dual(members));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip6, 80).status, ProbeStatus::refused);
  EXPECT_EQ(conn.exchange("and now\n").reply, "and now\n");
  EXPECT_EQ(dp_->installed(), lab_state_dual(members));
}

TEST_F(NftDataplane6Test, ARemovedBackendsUdpFlowsRebalanceWithinASecondAndTcpFlowsAreReset) {
  dp_->apply(lab_state_dual(all_members()));
  const std::uint16_t port = 40053;
  const std::string before = who_sandbox(udp_probe(topo_.client_netns, kVip6, 53, "WHO", 1000ms, port));
  ASSERT_FALSE(before.empty());
  TcpConnection conn(topo_.client_netns, kVip6, 80);
  ASSERT_TRUE(conn.connected());
  const std::string pinned = who_sandbox(conn.exchange("WHO\n"));
  ASSERT_FALSE(pinned.empty());

  std::vector<state::Member> rest;
  for (std::size_t i = 0; i < 3; ++i)
    if ("sb" + std::to_string(i) != before && "sb" + std::to_string(i) != pinned) rest.push_back(member(i));
  ASSERT_FALSE(rest.empty());
  const auto removed_at = std::chrono::steady_clock::now();
  dp_->apply(lab_state_dual(rest));
  std::string after;
  while (std::chrono::steady_clock::now() - removed_at < 1s) {
    after = who_sandbox(udp_probe(topo_.client_netns, kVip6, 53, "WHO", 200ms, port));
    if (!after.empty() && after != before) break;
  }
  EXPECT_NE(after, before) << "the IPv6 flow still went to the removed backend after 1 s";
  EXPECT_FALSE(after.empty());
  EXPECT_GE(dp_->wait_for_flow_cleanup(), 2u);
  const auto r = conn.exchange("hello?\n");
  EXPECT_EQ(r.status, ProbeStatus::refused) << lab::to_string(r.status) << " " << r.reply;
}

TEST_F(NftDataplane6Test, CountersAndReadBackShowTheIpv6Side) {
  const auto state = lab_state_dual(all_members());
  dp_->apply(state);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(tcp_probe(topo_.client_netns, kVip6, 80).status, ProbeStatus::ok);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(udp_probe(topo_.client_netns, kVip6, 53).status, ProbeStatus::ok);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(udp_probe(topo_.client_netns, node6(), kNodePort, "WHO").status, ProbeStatus::refused)
      << "30080 is a TCP node port";
  ASSERT_EQ(tcp_probe(topo_.client_netns, node6(), kNodePort).status, ProbeStatus::ok);
  std::this_thread::sleep_for(200ms);
  const Stats st = dp_->stats();
  const auto& http = st.frontends.at("[2001:2:1::7]:80/tcp");
  const auto& dns = st.frontends.at("[2001:2:1::7]:53/udp");
  EXPECT_EQ(http.new_flows, 5u);
  EXPECT_EQ(dns.new_flows, 3u);
  EXPECT_EQ(dns.packets, 3u);
  EXPECT_EQ(st.frontends.at("node:30080/tcp").new_flows, 1u);
  // Per backend: one entry per member (named by its IPv4 address, as on the fast path, whose
  // counters are per backend id), counting both families.
  TrafficCounters backends;
  for (const auto& [key, c] : st.backends) {
    EXPECT_EQ(key.rfind("svc/lab/web 198.18.1", 0), 0u) << key;
    backends.new_flows += c.new_flows;
    backends.packets += c.packets;
  }
  EXPECT_EQ(st.backends.size(), 3u);
  EXPECT_EQ(backends.new_flows, 9u) << "new IPv6 flows per backend";
  EXPECT_EQ(backends.packets, http.packets + dns.packets + st.frontends.at("node:30080/tcp").packets);

  // Read back: the same state, and a process that never applied anything sees it too.
  EXPECT_EQ(dp_->installed(), state);
  EXPECT_TRUE(dp_->apply(state).applied.empty());
  std::unique_ptr<NftDataplane> again;
  in_node([&] { again = std::make_unique<NftDataplane>(node_settings()); });
  again->learn_names(state);
  EXPECT_EQ(again->installed(), state);
  in_node([&] { again->apply(state); });
  EXPECT_EQ(again->last_transaction().elements_added, 0u) << "a restart adopts the IPv6 slot tables";
}

// An IPv6 flow's next packet after a member moves to another IPv6 address: the member's old
// address is no backend any more.
TEST_F(NftDataplane6Test, AMemberChangingItsIpv6AddressIsAChangeOfItsIpv6SideOnly) {
  auto members = all_members();
  dp_->apply(lab_state_dual(members));
  members[1].ipv6.reset();
  const auto r = dp_->apply(lab_state_dual(members));
  ASSERT_EQ(r.applied.backend_sets.changed.size(), 1u);
  EXPECT_EQ(dp_->installed(), lab_state_dual(members));
  std::set<std::string> seen6, seen4;
  for (int i = 0; i < 40; ++i) {
    seen6.insert(who_sandbox(tcp_probe(topo_.client_netns, kVip6, 80)));
    seen4.insert(who_sandbox(tcp_probe(topo_.client_netns, kVip, 80)));
  }
  EXPECT_FALSE(seen6.contains("sb1"));
  EXPECT_TRUE(seen4.contains("sb1"));
}

// `portway dump flows` on nft lists conntrack's entries of both families.
TEST_F(NftDataplane6Test, TranslatedIpv6FlowsAreListedFromConntrack) {
  dp_->apply(lab_state_dual(all_members()));
  TcpConnection conn(topo_.client_netns, kVip6, 80);
  ASSERT_TRUE(conn.connected());
  const std::string pinned = who_sandbox(conn.exchange("WHO\n"));
  ASSERT_FALSE(pinned.empty());
  std::vector<ListedFlow> flows;
  in_node([&] { flows = conntrack::ConntrackTable().listed_flows(); });
  const auto it = std::find_if(flows.begin(), flows.end(), [&](const ListedFlow& f) {
    return f.frontend == net::IpAddress{*net::parse_ipv6(kVip6)} && f.frontend_port == 80;
  });
  ASSERT_NE(it, flows.end()) << flows.size() << " flows listed";
  EXPECT_EQ(std::get<net::Ipv6>(it->client), topo_.client_address6);
  EXPECT_EQ(net::to_string(std::get<net::Ipv6>(it->backend)), sandbox6(static_cast<std::size_t>(pinned.back() - '0')));
  EXPECT_EQ(it->backend_port, 7000);
  EXPECT_EQ(it->state, "ESTABLISHED");
  EXPECT_FALSE(it->snat.has_value());
}

}  // namespace
}  // namespace portway::dataplane::nft::testing
