// The nftables dataplane end to end: NftDataplane programs the node namespace of a lab
// topology; real TCP and UDP from the client namespace (and from sandboxes, and from the node
// itself) are answered by portway-testapp in the sandboxes. One test per semantics row of
// docs/dataplane.md that nftables can show, plus drift repair, foreign tables and counters.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "dataplane/nft/nft_context.h"
#include "dataplane/nft/readback.h"
#include "dataplane/nft/table_reader.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "nft_lab.h"

namespace portway::dataplane::nft::testing {
namespace {

using state::MemberState;
using lab::ProbeStatus;
using lab::tcp_probe;
using lab::udp_probe;
using namespace std::chrono_literals;

using NftDataplaneTest = NftLabTest;

TEST_F(NftDataplaneTest, EachPortGoesToItsOwnTargetAndTheClientAddressArrives) {
  const auto r = dp_->apply(lab_state(all_members()));
  EXPECT_EQ(r.applied.frontends.added.size(), 4u);
  const auto http = who_of(tcp_probe(topo_.client_netns, kVip, 80));
  EXPECT_EQ(http.port, 7000);
  EXPECT_EQ(http.client_addr, "198.18.0.2") << "no masquerade: the backend sees the real client";
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, kVip, 81)).port, 7100);
  const auto dns = who_of(udp_probe(topo_.client_netns, kVip, 53));
  EXPECT_EQ(dns.port, 7001);
  EXPECT_EQ(dns.proto, "udp");
  EXPECT_EQ(dns.client_addr, "198.18.0.2");
}

TEST_F(NftDataplaneTest, NewFlowsSpreadOverEveryRunningBackend) {
  dp_->apply(lab_state(all_members()));
  std::map<std::string, int> seen;
  for (int i = 0; i < 60; ++i) ++seen[who_sandbox(tcp_probe(topo_.client_netns, kVip, 80))];
  EXPECT_EQ(seen.count(""), 0u);
  // 60 client ports hashed onto 3 slots, one per backend: 20 each +- noise; missing one in 60
  // tries is ~1e-10.
  EXPECT_EQ(seen.size(), 3u);
  for (const auto& [sb, n] : seen) EXPECT_GE(n, 5) << sb;
}

TEST_F(NftDataplaneTest, NodePortsAnswerOnLocalAddressesOnly) {
  dp_->apply(lab_state(all_members()));
  const auto via_node = who_of(tcp_probe(topo_.client_netns, net::to_string(topo_.node_address), kNodePort));
  EXPECT_EQ(via_node.port, 7000) << "DNAT to the target port of the service port owning the node port";
  EXPECT_EQ(via_node.client_addr, "198.18.0.2");
  // The same port number to a sandbox address passes the node untouched: that sandbox's own
  // listener on 30080 answers (Miren hijacked such connections).
  const auto through = who_of(tcp_probe(topo_.client_netns, sandbox(1), kNodePort));
  EXPECT_EQ(through.sandbox, "sb1");
  EXPECT_EQ(through.port, kNodePort);
  // Undeclared node port numbers on the node are not portway's business either: the node's
  // own stack answers (nothing listens: refused by the kernel, not by a portway reject).
  EXPECT_EQ(tcp_probe(topo_.client_netns, net::to_string(topo_.node_address), 30081).status, ProbeStatus::refused);
  EXPECT_EQ(dp_->stats().drops.at("undeclared_port"), 0u);
}

// Without node_addresses, node ports answer on the uplinks' addresses as they are at each
// apply(): an address added to the uplink is served after the next sync.
TEST_F(NftDataplaneTest, WithoutNodeAddressesNodePortsFollowTheUplinksAddresses) {
  config::NodeSettings settings = node_settings();
  settings.node_addresses.clear();
  std::unique_ptr<NftDataplane> dp;
  in_node([&] { dp = std::make_unique<NftDataplane>(settings); });
  const auto state = lab_state(all_members());
  in_node([&] { dp->apply(state); });
  const std::string added = "198.18.0.9";
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, net::to_string(topo_.node_address), kNodePort)).port, 7000);

  in_node([&] { netlink::add_address(topo_.uplink, *net::parse_ipv4(added), 24); });
  EXPECT_EQ(tcp_probe(topo_.client_netns, added, kNodePort).status, ProbeStatus::refused)
      << "not a node address until the next apply: the node's own stack refuses";
  ApplyReport r;
  in_node([&] { r = dp->apply(state); });
  EXPECT_TRUE(r.applied.empty());
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "node ports answer on: 198.18.0.1 198.18.0.9 2001:2::1");
  EXPECT_EQ(dp->last_transaction().elements_added, 1u);
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, added, kNodePort)).port, 7000);
}

TEST_F(NftDataplaneTest, ASandboxReachingItselfIsMasqueradedOthersKeepTheirAddress) {
  dp_->apply(lab_state(all_members()));
  const std::string self = sandbox(0);
  int hairpins = 0, others = 0;
  for (int i = 0; i < 60 && (hairpins < 2 || others < 2); ++i) {
    const auto w = who_of(tcp_probe(topo_.sandboxes[0].netns, kVip, 80));
    if (w.sandbox == "sb0") {
      ++hairpins;
      EXPECT_EQ(w.client_addr, net::to_string(topo_.sandboxes[0].gateway))
          << "hairpin: source NAT to the node's address so the reply returns through the node";
    } else {
      ++others;
      EXPECT_EQ(w.client_addr, self) << "service-to-service traffic keeps the client address";
    }
  }
  EXPECT_GE(hairpins, 2);
  EXPECT_GE(others, 2);
}

TEST_F(NftDataplaneTest, ConnectionsFromTheNodeItselfAreBalancedToo) {
  dp_->apply(lab_state(all_members()));
  const auto w = who_of(tcp_probe(topo_.node_netns, kVip, 80));
  EXPECT_EQ(w.port, 7000);
  EXPECT_EQ(who_of(udp_probe(topo_.node_netns, kVip, 53)).port, 7001);
  EXPECT_EQ(who_of(tcp_probe(topo_.node_netns, net::to_string(topo_.node_address), kNodePort)).port, 7000);
}

TEST_F(NftDataplaneTest, AFrontendWithoutBackendsRefusesInsteadOfHanging) {
  dp_->apply(lab_state(all_members()));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kEmptyVip, 80).status, ProbeStatus::refused);
  EXPECT_EQ(udp_probe(topo_.client_netns, kEmptyVip, 80).status, ProbeStatus::refused) << "UDP to a TCP-only port";
  // Every backend gone: the frontends that had them refuse too, TCP with a reset, UDP with
  // ICMP port unreachable.
  dp_->apply(lab_state({}));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip, 80).status, ProbeStatus::refused);
  EXPECT_EQ(udp_probe(topo_.client_netns, kVip, 53).status, ProbeStatus::refused);
  EXPECT_EQ(tcp_probe(topo_.client_netns, net::to_string(topo_.node_address), kNodePort).status,
            ProbeStatus::refused);
  const Stats st = dp_->stats();
  EXPECT_EQ(st.frontends.at("198.19.0.8:80/tcp").rejected, 1u);
  EXPECT_EQ(st.frontends.at("198.19.0.7:80/tcp").rejected, 1u);
  EXPECT_EQ(st.frontends.at("198.19.0.7:53/udp").rejected, 1u);
  EXPECT_EQ(st.frontends.at("node:30080/tcp").rejected, 1u);
  EXPECT_EQ(st.drops.at("no_backend"), 4u);
}

TEST_F(NftDataplaneTest, UndeclaredPortsAndProtocolsOfAServiceAddressAreRefused) {
  dp_->apply(lab_state(all_members()));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip, 82).status, ProbeStatus::refused);
  EXPECT_EQ(udp_probe(topo_.client_netns, kVip, 82).status, ProbeStatus::refused);
  EXPECT_EQ(udp_probe(topo_.client_netns, kVip, 80).status, ProbeStatus::refused) << "80 is declared for TCP only";
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip, 53).status, ProbeStatus::refused) << "53 is declared for UDP only";
  EXPECT_EQ(dp_->stats().drops.at("undeclared_port"), 4u);
}

TEST_F(NftDataplaneTest, DrainingKeepsEstablishedFlowsAndTakesNoNewOnes) {
  dp_->apply(lab_state(all_members()));
  TcpConnection conn(topo_.client_netns, kVip, 80);
  ASSERT_TRUE(conn.connected());
  const auto first = conn.exchange("WHO\n");
  const std::string pinned = who_sandbox(first);
  ASSERT_FALSE(pinned.empty()) << first.error;
  const std::size_t index = static_cast<std::size_t>(pinned.back() - '0');

  auto members = all_members();
  members[index].state = MemberState::draining;
  dp_->apply(lab_state(members));
  EXPECT_EQ(conn.exchange("still there\n").reply, "still there\n") << "established flow survives draining";
  for (int i = 0; i < 30; ++i)
    EXPECT_NE(who_sandbox(tcp_probe(topo_.client_netns, kVip, 80)), pinned) << "new flow to a draining backend";

  // Only draining backends left: new flows are refused, the established one still works.
  std::vector<state::Member> all_draining = all_members();
  for (auto& m : all_draining) m.state = MemberState::draining;
  dp_->apply(lab_state(all_draining));
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip, 80).status, ProbeStatus::refused);
  EXPECT_EQ(conn.exchange("and now\n").reply, "and now\n");
  EXPECT_EQ(dp_->installed(), lab_state(all_draining));
}

TEST_F(NftDataplaneTest, ARemovedBackendsUdpFlowsRebalanceWithinASecond) {
  dp_->apply(lab_state(all_members()));
  const std::uint16_t port = 40053;  // one UDP "flow": same client port every time
  const std::string before = who_sandbox(udp_probe(topo_.client_netns, kVip, 53, "WHO", 1000ms, port));
  ASSERT_FALSE(before.empty());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(who_sandbox(udp_probe(topo_.client_netns, kVip, 53, "WHO", 1000ms, port)), before)
        << "conntrack keeps a flow on its backend";

  std::vector<state::Member> rest;
  for (std::size_t i = 0; i < 3; ++i)
    if ("sb" + std::to_string(i) != before) rest.push_back(member(i));
  const auto removed_at = std::chrono::steady_clock::now();
  dp_->apply(lab_state(rest));
  std::string after;
  while (std::chrono::steady_clock::now() - removed_at < 1s) {
    after = who_sandbox(udp_probe(topo_.client_netns, kVip, 53, "WHO", 200ms, port));
    if (!after.empty() && after != before) break;
  }
  EXPECT_FALSE(after.empty());
  EXPECT_NE(after, before) << "the flow still went to the removed backend after 1 s";
  EXPECT_GE(dp_->wait_for_flow_cleanup(), 1u);
}

TEST_F(NftDataplaneTest, ARemovedBackendsTcpFlowsAreResetOnTheirNextPacket) {
  dp_->apply(lab_state(all_members()));
  TcpConnection conn(topo_.client_netns, kVip, 80);
  ASSERT_TRUE(conn.connected());
  const std::string pinned = who_sandbox(conn.exchange("WHO\n"));
  ASSERT_FALSE(pinned.empty());
  std::vector<state::Member> rest;
  for (std::size_t i = 0; i < 3; ++i)
    if ("sb" + std::to_string(i) != pinned) rest.push_back(member(i));
  dp_->apply(lab_state(rest));
  dp_->wait_for_flow_cleanup();
  const auto r = conn.exchange("hello?\n");
  EXPECT_EQ(r.status, ProbeStatus::refused) << "expected a reset, got " << lab::to_string(r.status) << " " << r.reply;
}

TEST_F(NftDataplaneTest, CountersAgreeWithTheTrafficSent) {
  dp_->apply(lab_state(all_members()));
  for (int i = 0; i < 6; ++i) ASSERT_EQ(tcp_probe(topo_.client_netns, kVip, 80).status, ProbeStatus::ok);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(udp_probe(topo_.client_netns, kVip, 53).status, ProbeStatus::ok);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(tcp_probe(topo_.client_netns, net::to_string(topo_.node_address), kNodePort).status, ProbeStatus::ok);
  ASSERT_EQ(tcp_probe(topo_.client_netns, kEmptyVip, 80).status, ProbeStatus::refused);
  std::this_thread::sleep_for(200ms);  // the last FIN/ACKs

  const Stats st = dp_->stats();
  const auto& http = st.frontends.at("198.19.0.7:80/tcp");
  const auto& dns = st.frontends.at("198.19.0.7:53/udp");
  const auto& np = st.frontends.at("node:30080/tcp");
  EXPECT_EQ(http.new_flows, 6u);
  EXPECT_GE(http.packets, 6u * 4) << "SYN, ACK, data, FIN at least";
  EXPECT_EQ(dns.new_flows, 4u);
  EXPECT_EQ(dns.packets, 4u) << "one datagram each, client to frontend direction only";
  EXPECT_EQ(np.new_flows, 2u);
  EXPECT_EQ(st.frontends.at("198.19.0.8:80/tcp").rejected, 1u);
  EXPECT_EQ(st.frontends.at("198.19.0.8:80/tcp").packets, 0u) << "a rejected packet is not a forwarded one";

  // Backends see exactly the packets the frontends forwarded.
  TrafficCounters backends;
  for (const auto& [key, c] : st.backends) {
    EXPECT_EQ(key.rfind("svc/lab/web 198.18.1", 0), 0u) << key;
    backends.packets += c.packets;
    backends.bytes += c.bytes;
    backends.new_flows += c.new_flows;
  }
  EXPECT_EQ(st.backends.size(), 3u);
  EXPECT_EQ(backends.new_flows, 12u);
  EXPECT_EQ(backends.packets, http.packets + dns.packets + np.packets);
  EXPECT_EQ(backends.bytes, http.bytes + dns.bytes + np.bytes);
}

TEST_F(NftDataplaneTest, OnlyTheDifferenceIsWrittenAndInstalledReadsItBack) {
  const auto full = lab_state(all_members());
  dp_->apply(full);
  EXPECT_EQ(dp_->installed(), full);
  const auto fewer = lab_state({member(0), member(2)});
  const auto r = dp_->apply(fewer);
  ASSERT_EQ(r.applied.backend_sets.changed.size(), 1u);
  EXPECT_EQ(r.applied.backend_sets.changed[0].members.removed.size(), 1u);
  EXPECT_TRUE(r.applied.frontends.empty());
  EXPECT_EQ(dp_->last_transaction().chains_written, 0u);
  // The three slot tables (service address, node port, the node port's IPv6 side) double
  // from 3 to 6 slots and the two survivors take the removed backend's slots (7 element
  // operations each), the five dispatch elements move to the pick chains for 6 (delete +
  // add), one backend's seven elements go (three, and four for its IPv6 address).
  EXPECT_EQ(dp_->last_transaction().elements_added + dp_->last_transaction().elements_deleted, 3u * 7u + 10u + 7u);
  EXPECT_EQ(dp_->installed(), fewer);
  EXPECT_TRUE(dp_->apply(fewer).applied.empty());
  EXPECT_EQ(dp_->last_transaction().commands, 0u) << "nothing changed, nothing sent";

  // Another process (a restart) sees the same table and finds nothing to change.
  std::unique_ptr<NftDataplane> again;
  in_node([&] { again = std::make_unique<NftDataplane>(node_settings()); });
  const auto r2 = again->apply(fewer);
  EXPECT_TRUE(r2.applied.empty()) << state::describe(r2.applied).front();
  EXPECT_TRUE(r2.notes.empty()) << r2.notes.front();
  EXPECT_EQ(again->last_transaction().elements_added, 0u);
  EXPECT_EQ(again->installed(), fewer);
}

TEST_F(NftDataplaneTest, AnotherProgramsCommitsDoNotTurnChangesIntoFullChecks) {
  dp_->apply(lab_state(all_members()));
  nft_cli("add table ip someone_else");  // bumps the ruleset generation
  dp_->apply(lab_state({member(0), member(1)}));
  EXPECT_EQ(dp_->last_transaction().chains_written, 0u) << "a full check rewrites the skeleton chains";
  EXPECT_GT(dp_->last_transaction().elements_deleted, 0u);
  // A damaged structure is noticed at once, though.
  nft_cli("flush chain inet portway dispatch");
  const auto r = dp_->apply(lab_state(all_members()));
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("repaired drift"), std::string::npos);
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, kVip, 80)).port, 7000);
}

TEST_F(NftDataplaneTest, TheNetlinkReaderAgreesWithLibnftablesJson) {
  dp_->apply(lab_state(all_members()));
  ASSERT_EQ(tcp_probe(topo_.client_netns, kVip, 80).status, ProbeStatus::ok);
  std::this_thread::sleep_for(300ms);  // the connection's last ACK: counters must stand still
  in_node([&] {
    NftContext ctx;
    const ReadBack json = parse_listing(ctx.list_json("list table inet portway"));
    const ReadBack nl = TableReader().read();
    ASSERT_EQ(json.sets.size(), nl.sets.size());
    for (const auto& [name, set] : json.sets) {
      EXPECT_EQ(set.elements, nl.sets.at(name).elements) << name;
      EXPECT_EQ(set.counters, nl.sets.at(name).counters) << name;
      EXPECT_EQ(set.signature, nl.sets.at(name).signature) << name;
      EXPECT_EQ(set.comments, nl.sets.at(name).comments) << name;
    }
    EXPECT_EQ(json.counters, nl.counters);
  });
}

// Another program committing while the reader dumps: the kernel flags the dump (NLM_F_DUMP_INTR)
// and the reader starts it again, rather than failing with EINTR the way libmnl's own loop
// does (netlink/answers.h). A set of 20,000 elements makes each dump take many reads, and a
// second thread commits to another set all the while.
TEST_F(NftDataplaneTest, ADumpInterruptedByAnotherCommitIsReadAgain) {
  dp_->apply(lab_state(all_members()));
  constexpr int kElements = 20000;
  std::size_t installed = 0;
  in_node([&] {
    installed = TableReader().read().sets.at("svc_fe").elements.size();
    std::string cmd = "add element inet portway svc_fe { ";
    for (int i = 0; i < kElements; ++i)
      cmd += (i ? ", 198.19." : "198.19.") + std::to_string(100 + i / 200) + "." + std::to_string(i % 200 + 1) +
             " . tcp . " + std::to_string(1000 + i % 200);
    NftContext().run(cmd + " }");
  });

  std::atomic<bool> stop{false};
  std::atomic<long> commits{0};
  std::thread churn([&] {
    in_node([&] {
      NftContext ctx;
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      while (!stop && std::chrono::steady_clock::now() < deadline) {
        ctx.run("add element inet portway svc_rej { 198.19.99.1 . udp . 9 }");
        ctx.run("delete element inet portway svc_rej { 198.19.99.1 . udp . 9 }");
        commits += 2;
      }
    });
  });
  std::size_t interrupted = 0;
  int reads = 0;
  in_node([&] {
    TableReader reader;
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (reader.interrupted_reads() == 0 && std::chrono::steady_clock::now() < deadline) {
      ReadBack rb;
      ASSERT_NO_THROW(rb = reader.read()) << "read " << reads;
      ++reads;
      EXPECT_EQ(rb.sets.at("svc_fe").elements.size(), installed + kElements) << "read " << reads;
    }
    interrupted = reader.interrupted_reads();
  });
  stop = true;
  churn.join();
  EXPECT_GT(commits.load(), 0);
  // Without a single interrupted dump the test would show nothing.
  EXPECT_GT(interrupted, 0u) << reads << " reads, " << commits.load() << " commits meanwhile";
}

TEST_F(NftDataplaneTest, DriftIsRepairedFlushedTableDeletedTableAndIntruders) {
  const auto s = lab_state(all_members());
  dp_->apply(s);
  nft_cli("flush table inet portway");  // rules and elements gone, chains and sets stay
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip, 80, "WHO\n", 500ms).status, ProbeStatus::timeout)
      << "sanity: with the table flushed nothing answers for the service";
  auto r = dp_->apply(s);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("repaired drift"), std::string::npos) << r.notes.back();
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, kVip, 80)).port, 7000);

  nft_cli("flush ruleset");
  r = dp_->apply(s);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("table inet portway was missing"), std::string::npos) << r.notes.back();
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, kVip, 80)).port, 7000);

  nft_cli("add chain inet portway intruder");
  nft_cli("add element inet portway svc_slots { 198.19.0.7 . 7 : 198.18.99.99 }");
  nft_cli("delete element inet portway svc_fe { 198.19.0.7 . tcp . 81 }");
  r = dp_->repair(s);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("orphan chain intruder"), std::string::npos) << r.notes.back();
  EXPECT_EQ(nft_cli("list chains inet").find("intruder"), std::string::npos);
  EXPECT_EQ(dp_->installed(), s);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(who_sandbox(tcp_probe(topo_.client_netns, kVip, 80)).empty());
}

TEST_F(NftDataplaneTest, AForeignTableWithADropPolicyIsNeverTouched) {
  nft_cli("add table inet foreign");
  nft_cli("add set inet foreign keep { type ipv4_addr; elements = { 192.0.2.1 } ; }");
  nft_cli("add chain inet foreign in { type filter hook input priority 0 ; policy drop ; }");
  // Same name, another family: not ours either.
  nft_cli("add table ip portway");
  nft_cli("add chain ip portway c { type filter hook forward priority 0 ; policy accept ; }");
  nft_cli("add rule ip portway c counter");
  const auto listing = [&] { return nft_cli("list table inet foreign") + nft_cli("list table ip portway"); };
  const std::string before = listing();

  const auto s = lab_state(all_members());
  dp_->apply(s);
  EXPECT_EQ(who_of(tcp_probe(topo_.client_netns, kVip, 80)).port, 7000) << "forwarded traffic is not input";
  dp_->repair(s);
  dp_->apply(lab_state({member(1)}));
  dp_->remove_all();
  // The counter in `ip portway` counted the forwarded packets: compare without it.
  const auto strip_counters = [](std::string t) {
    for (std::size_t at = t.find("counter packets"); at != std::string::npos; at = t.find("counter packets", at + 1))
      t.erase(at, t.find('\n', at) - at);
    return t;
  };
  EXPECT_EQ(strip_counters(before), strip_counters(listing()));
  EXPECT_EQ(nft_cli("list tables").find("inet portway"), std::string::npos);
  EXPECT_NE(nft_cli("list tables").find("ip portway"), std::string::npos);
}

TEST_F(NftDataplaneTest, RemoveAllLeavesNothingAndServicesStopAnswering) {
  dp_->apply(lab_state(all_members()));
  dp_->remove_all();
  EXPECT_EQ(nft_cli("list tables").find("portway"), std::string::npos);
  EXPECT_EQ(tcp_probe(topo_.client_netns, kVip, 80, "WHO\n", 500ms).status, ProbeStatus::timeout);
  dp_->remove_all();  // idempotent
  EXPECT_EQ(dp_->installed(), state::DataplaneState{});
}

}  // namespace
}  // namespace portway::dataplane::nft::testing
