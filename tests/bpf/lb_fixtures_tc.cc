// Fixtures for the tc program on the host side of a sandbox veth: replies of translated
// flows, sandbox -> frontend translation, hairpin, rejects towards a sandbox, ICMP errors.
#include <string>

#include <gtest/gtest.h>

#include "lb_fixture.h"
#include "support/packet_edit.h"

namespace portway::test::lb {
namespace {

using Frame = std::vector<std::uint8_t>;

inline constexpr Ipv4Address kOutside{198, 18, 77, 7};

// A packet the sandbox (backend 0) sends to the client.
PacketBuilder sandbox_reply(std::uint16_t sport = kTargetTcp) {
  return PacketBuilder{}
      .src_mac(kSandboxMac)
      .dst_mac(kHostVethMac)
      .src_ip(kSandbox)
      .dst_ip(kClient)
      .src_port(sport)
      .dst_port(40000);
}

// What the client gets: from the frontend, forwarded out of the uplink to its MAC.
PacketBuilder at_client(const Ipv4Address& src, std::uint16_t sport) {
  return PacketBuilder{}
      .src_mac(kNodeMac)
      .dst_mac(kClientMac)
      .src_ip(src)
      .dst_ip(kClient)
      .src_port(sport)
      .dst_port(40000)
      .ttl(63);
}

Step tc_step(Frame in, std::uint32_t verdict, std::optional<Frame> out, Expect e) {
  return {Hook::kTc, std::move(in), verdict, std::move(out), std::move(e)};
}

std::vector<Fixture> reply_rows() {
  std::vector<Fixture> out;
  const std::uint8_t synack = tcp_flags::kSyn | tcp_flags::kAck;
  out.push_back({"tcp_reply_from_backend_leaves_from_the_service",
                 {xdp_syn(kSvcA, 80, kFeATcp),
                  tc_step(sandbox_reply().tcp_flags(synack).tcp(), kTcRedirect,
                          at_client(kSvcA, 80).tcp_flags(synack).tcp(), nothing())}});
  out.push_back({"udp_reply_from_backend_leaves_from_the_service",
                 {xdp_udp(kSvcA, 53, kFeAUdp),
                  tc_step(sandbox_reply(kTargetUdp).payload("answer").udp(), kTcRedirect,
                          at_client(kSvcA, 53).payload("answer").udp(), nothing())}});
  out.push_back({"reply_to_node_port_client_leaves_from_the_node_port",
                 {xdp_syn(kNode, kNodePortTcp, kFeNodeTcp),
                  tc_step(sandbox_reply().tcp_flags(synack).tcp(), kTcRedirect,
                          at_client(kNode, kNodePortTcp).tcp_flags(synack).tcp(), nothing())}});
  out.push_back({"reply_to_second_node_address_leaves_from_it",
                 {xdp_syn(kNode2, kNodePortTcp, kFeNodeTcp),
                  tc_step(sandbox_reply().tcp_flags(synack).tcp(), kTcRedirect,
                          at_client(kNode2, kNodePortTcp).tcp_flags(synack).tcp(), nothing())}});
  out.push_back({"udp_reply_without_checksum_keeps_it_zero",
                 {xdp_udp(kSvcA, 53, kFeAUdp),
                  tc_step(sandbox_reply(kTargetUdp).udp_checksum(false).payload("a").udp(),
                          kTcRedirect,
                          at_client(kSvcA, 53).udp_checksum(false).payload("a").udp(),
                          nothing())}});
  {
    const Frame opts{0x01, 0x01, 0x01, 0x00};
    out.push_back({"reply_with_ip_options_is_translated",
                   {xdp_syn(kSvcA, 80, kFeATcp),
                    tc_step(sandbox_reply().ip_options(opts).tcp_flags(synack).tcp(), kTcRedirect,
                            at_client(kSvcA, 80).ip_options(opts).tcp_flags(synack).tcp(),
                            nothing())}});
  }
  out.push_back({"reply_without_a_flow_untouched",
                 {tc_step(sandbox_reply().tcp_flags(synack).tcp(), kTcOk, std::nullopt,
                          nothing())}});
  out.push_back({"reply_to_other_client_port_untouched",
                 {xdp_syn(kSvcA, 80, kFeATcp),
                  tc_step(sandbox_reply().dst_port(40001).tcp_flags(synack).tcp(), kTcOk,
                          std::nullopt, nothing())}});
  {
    // Big reply fragmented by the sandbox: the later fragment has no ports, but the same
    // source rewrite.
    const auto b = sandbox_reply(kTargetUdp).dont_fragment(false).ip_id(0x777)
                       .payload(Frame(100, 0x3c));
    const auto want = at_client(kSvcA, 53).dont_fragment(false).ip_id(0x777)
                          .payload(Frame(100, 0x3c)).udp();
    out.push_back({"reply_fragments_all_leave_from_the_service",
                   {xdp_udp(kSvcA, 53, kFeAUdp),
                    tc_step(ipv4_fragment(b.udp(), 0, 56, true), kTcRedirect,
                            ipv4_fragment(want, 0, 56, true), nothing()),
                    tc_step(ipv4_fragment(b.udp(), 56, 52, false), kTcRedirect,
                            ipv4_fragment(want, 56, 52, false), nothing())}});
  }
  {
    // The backend's port unreachable about the client's datagram: the client must see it
    // from the service, about the service.
    const Frame seen_by_backend = PacketBuilder{}.src_ip(kClient).dst_ip(kSandbox)
                                      .src_port(40000).dst_port(kTargetUdp).ttl(63)
                                      .payload("query").udp();
    const Frame as_sent = PacketBuilder{}.src_ip(kClient).dst_ip(kSvcA).src_port(40000)
                              .dst_port(53).ttl(63).payload("query").udp();
    const auto err = PacketBuilder{}.src_mac(kSandboxMac).dst_mac(kHostVethMac)
                         .src_ip(kSandbox).dst_ip(kClient).dont_fragment(false)
                         .payload(slice(seen_by_backend, 14, 28 + 5));
    const auto want = PacketBuilder{}.src_mac(kNodeMac).dst_mac(kClientMac).src_ip(kSvcA)
                          .dst_ip(kClient).dont_fragment(false).ttl(63)
                          .payload(slice(as_sent, 14, 28 + 5));
    out.push_back({"backend_port_unreachable_reaches_client_as_the_service",
                   {xdp_udp(kSvcA, 53, kFeAUdp),
                    tc_step(err.icmp(3, 3), kTcRedirect, want.icmp(3, 3), nothing())}});
  }
  return out;
}

std::vector<Fixture> sandbox_client_rows() {
  std::vector<Fixture> out;
  {
    const std::uint16_t sport = 46000;
    const std::uint32_t be = predict_pick(table_c(), kSandbox, kSvcC, sport, 80, kTcp);
    const auto b = from_sandbox(kSvcC, sport, 80);
    out.push_back({"sandbox_to_service_is_translated",
                   {tc_step(b.tcp(), kTcOk,
                            PacketBuilder{b}.dst_ip(backend_c_addr(be - kBeC0))
                                .dst_port(kTargetTcp).tcp(),
                            forwarded(kFeCTcp, be, b.tcp().size(), true))}});
  }
  {
    const auto b = from_sandbox(kSvcD, 46001, 9000).payload("hi");
    out.push_back({"sandbox_to_service_with_known_neighbour_is_redirected",
                   {tc_step(b.udp(), kTcRedirect,
                            PacketBuilder{b}.dst_ip(kSmallMtuBackend).dst_port(9000).ttl(63)
                                .src_mac(kHostVethMac).dst_mac(kSmallMtuMac).udp(),
                            forwarded(kFeDUdp, kBeSmallMtu, b.udp().size(), true))}});
  }
  {
    const Frame opts{0x02, 0x04, 0x05, 0xb4};
    const std::uint32_t be = predict_pick(table_c(), kSandbox, kSvcC, 46002, 80, kTcp);
    const auto b = from_sandbox(kSvcC, 46002, 80).tcp_options(opts);
    out.push_back({"sandbox_tcp_with_options_is_translated",
                   {tc_step(b.tcp(), kTcOk,
                            PacketBuilder{b}.dst_ip(backend_c_addr(be - kBeC0))
                                .dst_port(kTargetTcp).tcp(),
                            forwarded(kFeCTcp, be, b.tcp().size(), true))}});
  }
  {
    const std::uint32_t be = predict_pick(table_c(), kSandbox, kSvcC, 46003, 53, kUdp);
    const auto b = from_sandbox(kSvcC, 46003, 53).udp_checksum(false).payload("nc");
    out.push_back({"sandbox_udp_without_checksum_keeps_it_zero",
                   {tc_step(b.udp(), kTcOk,
                            PacketBuilder{b}.dst_ip(backend_c_addr(be - kBeC0))
                                .dst_port(kTargetUdp).udp(),
                            forwarded(kFeCUdp, be, b.udp().size(), true))}});
  }
  {
    // The sandbox answers a reply it got from a service with an ICMP error (to the service):
    // it goes to the backend that sent the reply.
    const std::uint16_t sport = 47000;
    const std::uint32_t be = predict_pick(table_c(), kSandbox, kSvcC, sport, 53, kUdp);
    const Ipv4Address be_addr = backend_c_addr(be - kBeC0);
    const auto q = from_sandbox(kSvcC, sport, 53).payload("q");
    const Frame reply_seen = PacketBuilder{}.src_ip(kSvcC).dst_ip(kSandbox).src_port(53)
                                 .dst_port(sport).payload("r").udp();
    const Frame reply_sent = PacketBuilder{}.src_ip(be_addr).dst_ip(kSandbox)
                                 .src_port(kTargetUdp).dst_port(sport).payload("r").udp();
    const auto err = PacketBuilder{}.src_mac(kSandboxMac).dst_mac(kHostVethMac).src_ip(kSandbox)
                         .dst_ip(kSvcC).dont_fragment(false).payload(slice(reply_seen, 14, 28));
    const Frame err_in = err.icmp(3, 3);
    out.push_back({"sandbox_icmp_error_about_service_reply_goes_to_backend",
                   {tc_step(q.udp(), kTcOk,
                            PacketBuilder{q}.dst_ip(be_addr).dst_port(kTargetUdp).udp(),
                            forwarded(kFeCUdp, be, q.udp().size(), true)),
                    tc_step(err_in, kTcOk,
                            PacketBuilder{err}.dst_ip(be_addr).payload(slice(reply_sent, 14, 28))
                                .icmp(3, 3),
                            forwarded(kFeCUdp, be, err_in.size(), false))}});
  }
  {
    const Frame in = from_sandbox(kSvcA, 45001, 81).tcp();
    out.push_back({"sandbox_to_undeclared_port_gets_reset",
                   {tc_step(in, kTcRedirect, expected_rst(in), rejected(PW_DROP_UNDECLARED_PORT))}});
  }
  {
    const Frame in = from_sandbox(kSvcB, 45002, 80).tcp_flags(tcp_flags::kAck).tcp_ack(99).tcp();
    out.push_back({"sandbox_tcp_to_frontend_without_backend_gets_reset",
                   {tc_step(in, kTcRedirect, expected_rst(in),
                            rejected(PW_DROP_NO_BACKEND, kFeBTcp))}});
  }
  {
    const Frame in = from_sandbox(kSvcB, 45003, 53).payload("query").udp();
    out.push_back({"sandbox_udp_to_frontend_without_backend_gets_port_unreachable",
                   {tc_step(in, kTcRedirect, expected_icmp(in, 3, 3),
                            rejected(PW_DROP_NO_BACKEND, kFeBUdp))}});
  }
  {
    const Frame in = from_sandbox(kSvcA, 45004, 54).payload(Frame(900, 1)).udp();
    out.push_back({"sandbox_udp_to_undeclared_port_gets_port_unreachable",
                   {tc_step(in, kTcRedirect, expected_icmp(in, 3, 3),
                            rejected(PW_DROP_UNDECLARED_PORT))}});
  }
  {
    const Frame in = from_sandbox(kSvcC, 45005, 80).ttl(1).tcp();
    out.push_back({"sandbox_ttl_1_to_frontend_gets_time_exceeded",
                   {tc_step(in, kTcRedirect, expected_icmp(in, 11, 0),
                            dropped(PW_DROP_TTL_EXPIRED))}});
  }
  return out;
}

std::vector<Fixture> hairpin_rows() {
  std::vector<Fixture> out;
  const std::uint8_t synack = tcp_flags::kSyn | tcp_flags::kAck;
  // The sandbox reaches its own service and is the only backend: it must see the node
  // address as the client, and its reply must come back as from the service.
  const auto syn = from_sandbox(kSvcA, 45000, 80);
  const auto syn_seen = PacketBuilder{}.src_mac(kHostVethMac).dst_mac(kSandboxMac).src_ip(kNode)
                            .dst_ip(kSandbox).src_port(45000).dst_port(kTargetTcp).ttl(63);
  const auto rep = PacketBuilder{}.src_mac(kSandboxMac).dst_mac(kHostVethMac).src_ip(kSandbox)
                       .dst_ip(kNode).src_port(kTargetTcp).dst_port(45000).tcp_flags(synack);
  const auto rep_seen = PacketBuilder{}.src_mac(kHostVethMac).dst_mac(kSandboxMac).src_ip(kSvcA)
                            .dst_ip(kSandbox).src_port(80).dst_port(45000).ttl(63)
                            .tcp_flags(synack);
  out.push_back({"hairpin_is_source_translated_to_the_node_address",
                 {tc_step(syn.tcp(), kTcRedirect, syn_seen.tcp(),
                          forwarded(kFeATcp, kBeSandbox, syn.tcp().size(), true))}});
  out.push_back({"hairpin_reply_restores_service_and_client",
                 {tc_step(syn.tcp(), kTcRedirect, syn_seen.tcp(),
                          forwarded(kFeATcp, kBeSandbox, syn.tcp().size(), true)),
                  tc_step(rep.tcp(), kTcRedirect, rep_seen.tcp(), nothing())}});
  {
    const auto ack = from_sandbox(kSvcA, 45000, 80).tcp_flags(tcp_flags::kAck).payload("x");
    const auto ack_seen = PacketBuilder{syn_seen}.tcp_flags(tcp_flags::kAck).payload("x");
    out.push_back({"hairpin_established_flow_stays_hairpinned",
                   {tc_step(syn.tcp(), kTcRedirect, syn_seen.tcp(),
                            forwarded(kFeATcp, kBeSandbox, syn.tcp().size(), true)),
                    tc_step(ack.tcp(), kTcRedirect, ack_seen.tcp(),
                            forwarded(kFeATcp, kBeSandbox, ack.tcp().size(), false))}});
  }
  {
    const auto b = from_sandbox(kNode, 45010, kNodePortUdp).payload("self");
    out.push_back({"sandbox_to_own_node_port_hairpins",
                   {tc_step(b.udp(), kTcRedirect,
                            PacketBuilder{}.src_mac(kHostVethMac).dst_mac(kSandboxMac)
                                .src_ip(kNode).dst_ip(kSandbox).src_port(45010)
                                .dst_port(kTargetUdp).ttl(63).payload("self").udp(),
                            forwarded(kFeNodeUdp, kBeSandbox, b.udp().size(), true))}});
  }
  {
    Step s = tc_step(syn.tcp(), kTcShot, std::nullopt, dropped(PW_DROP_NO_HAIRPIN_ADDR));
    s.before = [](LbLab& lab) { lab.maps().upsert_node_addr(be32(kNode), pw_node_addr{}); };
    out.push_back({"hairpin_without_hairpin_node_address_dropped", {s}});
  }
  {
    // The flag may sit on any node address: the second one is used when it has it.
    Step s = tc_step(syn.tcp(), kTcRedirect, PacketBuilder{syn_seen}.src_ip(kNode2).tcp(),
                     forwarded(kFeATcp, kBeSandbox, syn.tcp().size(), true));
    s.before = [](LbLab& lab) {
      lab.maps().upsert_node_addr(be32(kNode), pw_node_addr{});
      lab.maps().upsert_node_addr(be32(kNode2), pw_node_addr{.flags = PW_NODE_ADDR_HAIRPIN});
    };
    out.push_back({"hairpin_uses_the_flagged_node_address", {s}});
  }
  return out;
}

std::vector<Fixture> untouched_and_bad_rows() {
  std::vector<Fixture> out;
  const auto ok = [&](const std::string& name, Frame in) {
    out.push_back({name, {tc_step(std::move(in), kTcOk, std::nullopt, nothing())}});
  };
  const auto shot = [&](const std::string& name, Frame in, std::uint32_t reason) {
    out.push_back({name, {tc_step(std::move(in), kTcShot, std::nullopt, dropped(reason))}});
  };
  ok("sandbox_traffic_to_outside_untouched", from_sandbox(kOutside, 45000, 443).tcp());
  ok("sandbox_udp_to_outside_untouched", from_sandbox(kOutside, 45000, 53).payload("q").udp());
  ok("sandbox_arp_untouched", PacketBuilder{}.src_mac(kSandboxMac).payload(Frame(28, 2))
                                  .ethernet(kEtherTypeArp));
  ok("sandbox_ipv6_untouched", PacketBuilder{}.payload(Frame(48, 0x60)).ethernet(kEtherTypeIpv6));
  ok("sandbox_vlan_frame_untouched", from_sandbox(kSvcA, 45000, 80).vlan(3).tcp());
  ok("sandbox_to_node_address_other_port_untouched", from_sandbox(kNode, 45000, 22).tcp());
  ok("sandbox_ping_to_service_untouched",
     from_sandbox(kSvcA, 0, 0).payload("abcd").icmp(8, 0, 0x00010001));
  {
    Frame f = from_sandbox(kSvcA, 45000, 80).tcp();
    f[kL3Offset] = 0x44;
    shot("sandbox_ihl_4_to_service_dropped", f, PW_DROP_IP_BAD_IHL);
  }
  {
    Frame f = from_sandbox(kOutside, 45000, 80).tcp();
    f[kL3Offset] = 0x44;
    ok("sandbox_ihl_4_to_outside_untouched", f);
  }
  {
    Frame f = from_sandbox(kSvcA, 45000, 53).payload("0123").udp();
    f.resize(kL3Offset + 20 + 5);
    put_be16(f, kL3Offset + 2, 25);
    fix_ipv4_checksum(f);
    shot("sandbox_truncated_udp_to_frontend_dropped", f, PW_DROP_L4_TRUNCATED);
  }
  shot("sandbox_destination_port_0_to_service_dropped", from_sandbox(kSvcA, 45000, 0).tcp(),
       PW_DROP_PORT_ZERO);
  {
    const auto b = from_sandbox(kSvcA, 45000, 53).dont_fragment(false).ip_id(9)
                       .payload(Frame(48, 1));
    shot("sandbox_later_fragment_without_first_to_service_dropped",
         ipv4_fragment(b.udp(), 32, 24, false), PW_DROP_FRAGMENT_UNKNOWN);
  }
  return out;
}

}  // namespace

std::vector<Fixture> tc_fixtures() {
  return concat({reply_rows(), sandbox_client_rows(), hairpin_rows(), untouched_and_bad_rows()});
}

}  // namespace portway::test::lb
