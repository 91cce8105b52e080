// pw_conns (layout 4, lb_abi.h): one entry per connection, read by both directions, and
// pw_flows + pw_reverse for what it cannot hold. Real packets through the loaded programs;
// the translations are read off the output frames and the maps.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <cstring>

#include "lb_fixture.h"
#include "loader/lb_events.h"
#include "support/root.h"

namespace portway::test::lb {
namespace {

constexpr std::uint16_t kPort = 41000;

// The addresses and ports of an IPv4 frame without IP options, as on the wire.
struct Tuple {
  Ipv4Address src{}, dst{};
  std::uint16_t sport = 0, dport = 0;
};

Tuple tuple_of(const std::vector<std::uint8_t>& frame) {
  Tuple t;
  EXPECT_GE(frame.size(), 38u);
  if (frame.size() < 38) return t;
  std::copy_n(frame.begin() + 26, 4, t.src.begin());
  std::copy_n(frame.begin() + 30, 4, t.dst.begin());
  t.sport = static_cast<std::uint16_t>(frame[34] << 8 | frame[35]);
  t.dport = static_cast<std::uint16_t>(frame[36] << 8 | frame[37]);
  return t;
}

std::uint64_t event(LbLab& lab, std::uint32_t e) { return lab.maps().all_events()[e]; }

// The client's packet to dst:dport from kPort (a SYN, or an ACK of the same connection).
std::vector<std::uint8_t> client(const Ipv4Address& dst, std::uint16_t dport, bool syn) {
  return from_client(dst, dport).src_port(kPort).tcp_flags(syn ? tcp_flags::kSyn : tcp_flags::kAck).tcp();
}

// A backend's reply from its target port to the client at kPort, as the tc program sees it.
std::vector<std::uint8_t> reply_from(const Ipv4Address& backend) {
  return PacketBuilder{}
      .src_mac(kSandboxMac)
      .dst_mac(kHostVethMac)
      .src_ip(backend)
      .dst_ip(kClient)
      .src_port(kTargetTcp)
      .dst_port(kPort)
      .tcp_flags(tcp_flags::kSyn | tcp_flags::kAck)
      .tcp();
}

// A flow and its reverse entry written straight into pw_flows and pw_reverse, as a program of
// layout 3 records them.
void write_as_layout3(LbLab& lab, const pw_flow_key& key, const pw_flow& flow) {
  pw_reverse rev{};
  rev.frontend_addr = key.daddr;
  rev.frontend_port = key.dport;
  rev.flags = flow.flags;
  rev.client_addr = key.saddr;
  const pw_flow_key rk = loader::reverse_key_of(key, flow);
  ASSERT_EQ(bpf_map_update_elem(lab.fds().flows, &key, &flow, BPF_ANY), 0);
  ASSERT_EQ(bpf_map_update_elem(lab.fds().reverse, &rk, &rev, BPF_ANY), 0);
}

// Three flows the placement tests write: to A:80 (the sandbox), to C:80 (backend C0) and a
// hairpin to A:80.
struct Flows {
  pw_flow to_a{}, to_c{}, hairpin{};
};

Flows flows_of_the_tests() {
  Flows f;
  f.to_a.backend_id = kBeSandbox;
  f.to_a.backend_addr = be32(kSandbox);
  f.to_a.target_port = be16(kTargetTcp);
  f.to_a.frontend_id = kFeATcp;
  f.to_c = f.to_a;
  f.to_c.backend_id = kBeC0;
  f.to_c.backend_addr = be32(backend_c_addr(0));
  f.to_c.frontend_id = kFeCTcp;
  f.hairpin = f.to_a;
  f.hairpin.flags = PW_FLOW_HAIRPIN;
  f.hairpin.snat_addr = be32(kNode);
  return f;
}

class LbConnsTest : public ::testing::Test {
 protected:
  void SetUp() override { PORTWAY_REQUIRE_ROOT(); }
};

// One client socket to two frontends whose backends listen on the same port: the first flow
// takes the client's pw_conns entry, the second goes to pw_flows + pw_reverse (counted), and
// both keep their backend in both directions.
TEST_F(LbConnsTest, OneClientPortToTwoFrontendsKeepsBothFlows) {
  LbLab lab;
  const std::uint32_t pick = predict_pick(table_c(), kClient, kSvcC, kPort, 80, kTcp);
  const Ipv4Address c_backend = backend_c_addr(pick - kBeC0);
  const std::uint64_t taken_before = event(lab, PW_EV_FLOW_CONN_TAKEN);

  auto r = lab.run_xdp(client(kSvcA, 80, true));
  ASSERT_EQ(r.retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(tuple_of(r.output).dst, kSandbox);
  r = lab.run_xdp(client(kSvcC, 80, true));
  ASSERT_EQ(r.retval, static_cast<std::uint32_t>(XDP_PASS));  // C's backends have no neighbour
  EXPECT_EQ(tuple_of(r.output).dst, c_backend);

  EXPECT_EQ(event(lab, PW_EV_FLOW_CONN_TAKEN) - taken_before, 1u);
  ASSERT_EQ(lab.maps().conns().size(), 1u);
  EXPECT_EQ(lab.maps().conns().front().second.frontend_addr, be32(kSvcA));
  EXPECT_EQ(lab.maps().reverse_count(), 1u);
  EXPECT_EQ(lab.maps().flows().size(), 2u);

  // Established packets of both: each to its own backend.
  for (int i = 0; i < 3; ++i) {
    r = lab.run_xdp(client(kSvcA, 80, false));
    EXPECT_EQ(tuple_of(r.output).dst, kSandbox);
    r = lab.run_xdp(client(kSvcC, 80, false));
    EXPECT_EQ(tuple_of(r.output).dst, c_backend);
  }
  // Each backend's reply leaves from the frontend its client used.
  r = lab.run_tc(reply_from(kSandbox));
  ASSERT_EQ(r.retval, static_cast<std::uint32_t>(TC_ACT_REDIRECT));
  EXPECT_EQ(tuple_of(r.output).src, kSvcA);
  EXPECT_EQ(tuple_of(r.output).sport, 80);
  r = lab.run_tc(reply_from(c_backend));
  const Tuple back = tuple_of(r.output);
  EXPECT_EQ(back.src, kSvcC) << "the second flow's reply, from pw_reverse";
  EXPECT_EQ(back.sport, 80);
  EXPECT_EQ(back.dst, kClient);
}

// A flow whose frontend went away leaves a dead entry; another frontend's new flow from the
// same client port takes it over (one delete and one insert counted, nothing in pw_flows).
TEST_F(LbConnsTest, ANewFlowTakesOverTheEntryOfADeadFlow) {
  LbLab lab;
  ASSERT_EQ(lab.run_xdp(client(kSvcC, 80, true)).retval, static_cast<std::uint32_t>(XDP_PASS));
  ASSERT_EQ(lab.maps().conns().size(), 1u);
  // The controller moves C:80's gen on (its frontend removed or its id given to another).
  std::uint32_t gen = lab.maps().frontend_gens().at(kFeCTcp) + 1;
  const std::pair<std::uint32_t, std::uint32_t> moved{kFeCTcp, gen};
  lab.maps().set_frontend_gens({&moved, 1});

  const std::uint64_t inserts = event(lab, PW_EV_FLOW_INSERTS);
  const std::uint64_t deletes = event(lab, PW_EV_FLOW_DELETES);
  const std::uint64_t taken = event(lab, PW_EV_FLOW_CONN_TAKEN);
  const auto r = lab.run_xdp(client(kSvcA, 80, true));
  ASSERT_EQ(r.retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(tuple_of(r.output).dst, kSandbox);
  EXPECT_EQ(event(lab, PW_EV_FLOW_INSERTS) - inserts, 1u);
  EXPECT_EQ(event(lab, PW_EV_FLOW_DELETES) - deletes, 1u);
  EXPECT_EQ(event(lab, PW_EV_FLOW_CONN_TAKEN) - taken, 0u);
  ASSERT_EQ(lab.maps().conns().size(), 1u);
  EXPECT_EQ(lab.maps().conns().front().second.frontend_addr, be32(kSvcA));
  EXPECT_EQ(lab.maps().reverse_count(), 0u);
}

// Flows an older program recorded (pw_flows + pw_reverse, what layout 3 pins hold) are
// followed in both directions: on a backend Maglev would not pick today, so a re-pick shows.
TEST_F(LbConnsTest, FlowsInPwFlowsAreFollowedInBothDirections) {
  LbLab lab;
  const std::uint32_t pick = predict_pick(table_c(), kClient, kSvcC, kPort, 80, kTcp);
  const std::uint32_t other = pick == kBeC0 ? kBeC0 + 1 : kBeC0;
  const Ipv4Address other_addr = backend_c_addr(other - kBeC0);
  const pw_flow_key key = flow_key(kClient, kSvcC, kPort, 80, kTcp);
  pw_flow f{};
  f.backend_id = other;
  f.backend_addr = be32(other_addr);
  f.target_port = be16(kTargetTcp);
  f.frontend_id = kFeCTcp;
  f.frontend_gen = lab.maps().frontend_gens().at(kFeCTcp);
  write_as_layout3(lab, key, f);

  auto r = lab.run_xdp(client(kSvcC, 80, false));
  ASSERT_EQ(r.retval, static_cast<std::uint32_t>(XDP_PASS));
  EXPECT_EQ(tuple_of(r.output).dst, other_addr) << "kept its backend, not re-picked";
  EXPECT_TRUE(lab.maps().conns().empty()) << "an existing flow is not copied";
  r = lab.run_tc(reply_from(other_addr));
  EXPECT_EQ(tuple_of(r.output).src, kSvcC);
  EXPECT_EQ(tuple_of(r.output).sport, 80);
}

// A frontend re-added under the same id (gen moved on twice): the stale flow is replaced in
// place in pw_conns, so a reply never finds the client's entry missing, and nothing is counted
// as deleted or inserted; with no frontend left, the stale entry is deleted.
TEST_F(LbConnsTest, AStaleFlowIsReplacedInPlaceOrDeleted) {
  LbLab lab;
  ASSERT_EQ(lab.run_xdp(client(kSvcC, 80, true)).retval, static_cast<std::uint32_t>(XDP_PASS));
  pw_frontend_key fk{};
  fk.addr = be32(kSvcC);
  fk.port = be16(80);
  fk.proto = kTcp;
  fk.kind = PW_FRONTEND_SERVICE;
  pw_frontend fe = lab.maps().frontend(fk).value();
  fe.gen = lab.maps().frontend_gens().at(kFeCTcp) + 2;
  const std::pair<std::uint32_t, std::uint32_t> given{kFeCTcp, fe.gen};
  lab.maps().set_frontend_gens({&given, 1});
  lab.maps().upsert_frontend(fk, fe);

  const auto before = lab.maps().all_events();
  ASSERT_EQ(lab.run_xdp(client(kSvcC, 80, false)).retval, static_cast<std::uint32_t>(XDP_PASS));
  const auto after = lab.maps().all_events();
  EXPECT_EQ(after[PW_EV_FLOW_STALE_FRONTEND] - before[PW_EV_FLOW_STALE_FRONTEND], 1u);
  EXPECT_EQ(after[PW_EV_FLOW_INSERTS] - before[PW_EV_FLOW_INSERTS], 0u);
  EXPECT_EQ(after[PW_EV_FLOW_DELETES] - before[PW_EV_FLOW_DELETES], 0u);
  ASSERT_EQ(lab.maps().conns().size(), 1u);
  EXPECT_EQ(lab.maps().conns().front().second.flow.frontend_gen, fe.gen);

  // Removed: the next packet finds no frontend (an undeclared port of a service address).
  ASSERT_TRUE(lab.maps().erase_frontend(fk));
  const std::pair<std::uint32_t, std::uint32_t> taken{kFeCTcp, fe.gen + 1};
  lab.maps().set_frontend_gens({&taken, 1});
  const auto r = lab.run_xdp(client(kSvcC, 80, false));
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(XDP_TX)) << "a reset";
  EXPECT_EQ(lab.maps().all_events()[PW_EV_FLOW_DELETES] - after[PW_EV_FLOW_DELETES], 1u);
  EXPECT_TRUE(lab.maps().conns().empty());
}

// User space writes flows where the programs would (a dataplane switch carries them in): one
// client port to two frontends and a hairpin leave pw_conns to the first only.
TEST_F(LbConnsTest, UpsertedFlowsArePlacedAsTheProgramsPlaceThem) {
  LbLab lab;
  const Flows f = flows_of_the_tests();
  const std::vector<std::pair<pw_flow_key, pw_flow>> flows{
      {flow_key(kClient, kSvcA, kPort, 80, kTcp), f.to_a},
      {flow_key(kClient, kSvcC, kPort, 80, kTcp), f.to_c},
      {flow_key(kSandbox, kSvcA, kPort + 1, 80, kTcp), f.hairpin}};
  lab.maps().upsert_flows(flows);
  EXPECT_EQ(lab.maps().conns().size(), 1u);
  EXPECT_EQ(lab.maps().reverse_count(), 2u);
  EXPECT_EQ(lab.maps().flows().size(), 3u);
  for (const auto& [key, flow] : flows) {
    const auto found = lab.maps().flow(key);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->backend_id, flow.backend_id);
    const auto back = lab.maps().reply_translation(loader::reverse_key_of(key, flow));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->frontend_addr, key.daddr);
  }
  // Written again: the same places, nothing added.
  lab.maps().upsert_flows(flows);
  EXPECT_EQ(lab.maps().conns().size(), 1u);
  EXPECT_EQ(lab.maps().reverse_count(), 2u);
}

// The flows an upgrade from layout 3 finds in pw_flows move into pw_conns, except what pw_conns
// cannot hold (a hairpin; a second flow of a client port): written raw, as an older program
// left them, then moved.
TEST_F(LbConnsTest, AnUpgradeMovesFlowsFromPwFlowsIntoPwConns) {
  LbLab lab;
  const Flows f = flows_of_the_tests();
  const std::vector<std::pair<pw_flow_key, pw_flow>> old{
      {flow_key(kClient, kSvcA, kPort, 80, kTcp), f.to_a},
      {flow_key(kClient, kSvcC, kPort, 80, kTcp), f.to_c},  // the same client port
      {flow_key(kClient2, kSvcA, kPort, 80, kTcp), f.to_a},
      {flow_key(kSandbox, kSvcA, kPort + 1, 80, kTcp), f.hairpin}};
  for (const auto& [key, flow] : old) write_as_layout3(lab, key, flow);
  EXPECT_EQ(lab.maps().move_flows_into_conns(), 2u);
  EXPECT_EQ(lab.maps().conns().size(), 2u);
  EXPECT_EQ(lab.maps().reverse_count(), 2u) << "the hairpin's and the second flow's";
  EXPECT_EQ(lab.maps().flows().size(), 4u);
  for (const auto& [key, flow] : old) {
    const auto back = lab.maps().reply_translation(loader::reverse_key_of(key, flow));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->frontend_addr, key.daddr);
  }
  // Traffic of a moved flow is translated from pw_conns.
  const auto r = lab.run_xdp(from_client(kSvcA, 80).src_ip(kClient2).src_port(kPort).tcp_flags(tcp_flags::kAck).tcp());
  ASSERT_EQ(r.retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(tuple_of(r.output).dst, kSandbox);
  EXPECT_EQ(lab.maps().move_flows_into_conns(), 0u) << "nothing left to move";
}

}  // namespace
}  // namespace portway::test::lb
