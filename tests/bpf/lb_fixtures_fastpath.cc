// Fixtures for the IPv4 fast path's shortcuts (docs/xdp-dataplane.md, "The fast path"): the
// prefix filter in front of every lookup, flows looked up before frontends with the frontend
// gen check, and the egress readiness cached with the next hop. Each shortcut must leave every
// outcome of docs/dataplane.md as it was; these rows pin what only the shortcut could break.
#include <arpa/inet.h>


#include <gtest/gtest.h>

#include "lb_fixture.h"

namespace portway::test::lb {
namespace {


PacketBuilder ack_to(const Ipv4Address& dst, std::uint16_t port) {
  return from_client(dst, port).tcp_flags(tcp_flags::kAck).tcp_seq(2).tcp_ack(9);
}

// The frame as delivered to the sandbox backend at `target`.
std::vector<std::uint8_t> at_sandbox(PacketBuilder b, std::uint16_t target) {
  return b.dst_ip(kSandbox).dst_port(target).ttl(63).src_mac(kHostVethMac).dst_mac(kSandboxMac).tcp();
}

pw_frontend_key service_key(const Ipv4Address& addr, std::uint16_t port) {
  pw_frontend_key k{};
  k.addr = be32(addr);
  k.port = be16(port);
  k.proto = kTcp;
  k.kind = PW_FRONTEND_SERVICE;
  return k;
}

// What the controller does when frontend A:80 is removed (its id's gen moves on) and, when
// `readd_target` is set, added again under the same id (the gen moves on once more) with
// another target port.
void remove_frontend_a80(LbLab& lab, std::optional<std::uint16_t> readd_target) {
  auto& m = lab.maps();
  ASSERT_TRUE(m.erase_frontend(service_key(kSvcA, 80)));
  std::uint32_t gen = m.frontend_gens().at(kFeATcp);
  const std::pair<std::uint32_t, std::uint32_t> taken{kFeATcp, ++gen};
  m.set_frontend_gens({&taken, 1});
  if (!readd_target) return;
  const std::pair<std::uint32_t, std::uint32_t> given{kFeATcp, ++gen};
  m.set_frontend_gens({&given, 1});
  pw_frontend fe{};
  fe.id = kFeATcp;
  fe.set_id = 0;
  fe.target_port = be16(*readd_target);
  fe.gen = gen;
  m.upsert_frontend(service_key(kSvcA, 80), fe);
}

// Service addresses 198.19.1.0/24 only: the node addresses (198.19.0.1, .2) are outside.
pw_prefilter services_only() {
  pw_prefilter pf{};
  pf.flags = PW_PREFILTER_ON4;
  pf.count4 = 1;
  pf.v4[0].addr = htonl(0xC6130100u);  // 198.19.1.0
  pf.v4[0].mask = htonl(0xFFFFFF00u);
  return pf;
}

std::vector<Fixture> generation_rows() {
  std::vector<Fixture> out;
  {
    // Removed and re-added under the same id: the old flow (to 8080) is not used; the ACK is
    // picked anew under the new frontend (9090), whose flow takes the old one's place in
    // pw_conns (no delete, no insert: the entry is overwritten).
    const Step open = xdp_syn(kSvcA, 80, kFeATcp);
    const auto b = ack_to(kSvcA, 80);
    Step again{Hook::kXdp, b.tcp(), kXdpRedirect, at_sandbox(b, 9090),
               with_events(forwarded(kFeATcp, kBeSandbox, b.tcp().size(), true),
                           {{PW_EV_FLOW_STALE_FRONTEND, 1}, {PW_EV_XDP_REDIRECT, 1}})};
    again.before = [](LbLab& lab) { remove_frontend_a80(lab, 9090); };
    again.check = [](LbLab& lab) {
      const auto f = lab.maps().flow(flow_key(kClient, kSvcA, 40000, 80, kTcp));
      ASSERT_TRUE(f.has_value());
      EXPECT_EQ(f->target_port, be16(9090));
      EXPECT_EQ(f->frontend_gen, lab.maps().frontend_gens().at(kFeATcp));
    };
    out.push_back({"frontend_readded_at_the_same_id_never_reuses_old_flows", {open, again}});
  }
  {
    // Removed: A is still a service address (A:53/udp), so the ACK is an undeclared port,
    // exactly as if the flow had never been recorded.
    const Step open = xdp_syn(kSvcA, 80, kFeATcp);
    const auto in = ack_to(kSvcA, 80).tcp();
    Step gone{Hook::kXdp, in, kXdpTx, expected_rst(in),
              with_events(rejected(PW_DROP_UNDECLARED_PORT),
                          {{PW_EV_FLOW_STALE_FRONTEND, 1}, {PW_EV_FLOW_DELETES, 1}})};
    gone.before = [](LbLab& lab) { remove_frontend_a80(lab, std::nullopt); };
    gone.check = [](LbLab& lab) { EXPECT_TRUE(lab.maps().flows().empty()); };
    out.push_back({"removed_frontends_flow_is_not_used", {open, gone}});
  }
  {
    // Changed in place (same id, same gen: a new target port): established flows keep theirs.
    const Step open = xdp_syn(kSvcA, 80, kFeATcp);
    const auto b = ack_to(kSvcA, 80);
    Step kept{Hook::kXdp, b.tcp(), kXdpRedirect, at_sandbox(b, kTargetTcp),
              with_events(forwarded(kFeATcp, kBeSandbox, b.tcp().size(), false), {{PW_EV_XDP_REDIRECT, 1}})};
    kept.before = [](LbLab& lab) {
      pw_frontend fe = lab.maps().frontend(service_key(kSvcA, 80)).value();
      fe.target_port = be16(9090);
      lab.maps().upsert_frontend(service_key(kSvcA, 80), fe);
    };
    out.push_back({"frontend_changed_in_place_keeps_its_flows", {open, kept}});
  }
  return out;
}

std::vector<Fixture> prefilter_rows() {
  std::vector<Fixture> out;
  const auto filter_on = [](LbLab& lab) { lab.maps().set_prefilter(services_only()); };
  {
    // A node port outside the filter: untouched, and nothing counted, not even the L2 check's
    // events (a frame to another host's MAC would count PW_EV_L2_OTHER_HOST after a lookup).
    Step node{Hook::kXdp, from_client(kNode, kNodePortTcp).tcp(), kXdpPass, std::nullopt,
              with_events({}, {})};
    node.before = filter_on;
    node.check = [](LbLab& lab) { EXPECT_TRUE(lab.maps().flows().empty()); };
    Step foreign{Hook::kXdp, from_client(kElsewhere, 80).dst_mac(kOtherHostMac).tcp(), kXdpPass,
                 std::nullopt, with_events({}, {})};
    out.push_back({"prefilter_outside_passes_untouched_without_lookups", {node, foreign}});
  }
  {
    // Inside the filter everything is as without it; the same foreign MAC is now looked at.
    Step svc = xdp_syn(kSvcA, 80, kFeATcp);
    svc.before = filter_on;
    Step foreign{Hook::kXdp, from_client(kSvcA, 80).dst_mac(kOtherHostMac).tcp(), kXdpPass,
                 std::nullopt, with_events({}, {{PW_EV_L2_OTHER_HOST, 1}})};
    out.push_back({"prefilter_inside_decides_as_ever", {svc, foreign}});
  }
  {
    // An established node-port flow whose node address left the filter: not used.
    const auto b = from_client(kNode, kNodePortTcp);
    Step open{Hook::kXdp, b.tcp(), kXdpRedirect, at_sandbox(b, kTargetTcp),
              forwarded(kFeNodeTcp, kBeSandbox, b.tcp().size(), true)};
    Step after{Hook::kXdp, ack_to(kNode, kNodePortTcp).tcp(), kXdpPass, std::nullopt, with_events({}, {})};
    after.before = filter_on;
    out.push_back({"prefilter_outside_skips_even_an_existing_flow", {open, after}});
  }
  {
    // Entries without PW_PREFILTER_ON4: every destination goes on to the lookups.
    const auto b = from_client(kNode, kNodePortTcp);
    Step node{Hook::kXdp, b.tcp(), kXdpRedirect, at_sandbox(b, kTargetTcp),
              forwarded(kFeNodeTcp, kBeSandbox, b.tcp().size(), true)};
    node.before = [](LbLab& lab) {
      pw_prefilter pf = services_only();
      pf.flags = PW_PREFILTER_ON6;  // the other family's flag changes nothing for IPv4
      lab.maps().set_prefilter(pf);
    };
    out.push_back({"prefilter_without_on4_filters_nothing", {node}});
  }
  {
    // A sandbox to an undeclared port of a service address outside the filter: the tc
    // program leaves it to the stack instead of answering it (no lookup said "service").
    Step s{Hook::kTc, from_sandbox(kSvcA, 40000, 81).tcp(), kTcOk, std::nullopt, with_events({}, {})};
    s.before = [](LbLab& lab) {
      pw_prefilter pf = services_only();
      pf.v4[0].addr = htonl(0xC6130200u);  // 198.19.2.0/24: not A's
      lab.maps().set_prefilter(pf);
    };
    out.push_back({"prefilter_outside_untouched_by_tc", {s}});
  }
  return out;
}

std::vector<Fixture> readiness_rows() {
  std::vector<Fixture> out;
  {
    // The readiness cached with the next hop follows a lost PW_IF_XDP_READY at once: the next
    // frame is handed to tc, not XDP-redirected on the cached answer.
    Step open = xdp_syn(kSvcA, 80, kFeATcp);
    open.check = [](LbLab& lab) {
      EXPECT_EQ(lab.maps().all_nexthops().at(kBeSandbox).flags, PW_NEXTHOP_XDP_READY);
    };
    const auto b = ack_to(kSvcA, 80);
    Step lost{Hook::kXdp, b.tcp(), kXdpPass, std::nullopt,
              with_events(forwarded(kFeATcp, kBeSandbox, b.tcp().size(), false), {{PW_EV_XDP_TC_HANDOFF, 1}})};
    lost.before = [](LbLab& lab) { lab.set_xdp_ready(false); };
    lost.output_metadata = sizeof(pw_handoff);
    lost.output_for = [b](LbLab& lab) {
      return handed_off(lab, at_sandbox(b, kTargetTcp), PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetTcp).tcp());
    };
    lost.check = [](LbLab& lab) { EXPECT_EQ(lab.maps().all_nexthops().at(kBeSandbox).flags, 0u); };
    out.push_back({"lost_xdp_readiness_is_followed_at_once", {open, lost}});
  }
  return out;
}

}  // namespace

std::vector<Fixture> fastpath_fixtures() {
  return concat({generation_rows(), prefilter_rows(), readiness_rows()});
}

}  // namespace portway::test::lb
