// Fixtures for the rows of the semantics table (docs/dataplane.md "Semantics") on the XDP (uplink)
// side.
#include <string>

#include <gtest/gtest.h>

#include "lb_fixture.h"

namespace portway::test::lb {
namespace {


// The client packet once translated to backend:target and redirected out of pwbk0 to a
// neighbour the FIB knows: next-hop MACs, TTL - 1.
PacketBuilder redirected(PacketBuilder b, const Ipv4Address& backend, std::uint16_t target,
                         std::uint8_t ttl_after = 63, const MacAddress& mac = kSandboxMac) {
  return b.dst_ip(backend).dst_port(target).ttl(ttl_after).src_mac(kHostVethMac).dst_mac(mac);
}

// Translated, but handed to the stack (no neighbour yet): MACs and TTL as they came.
PacketBuilder passed(PacketBuilder b, const Ipv4Address& backend, std::uint16_t target) {
  return b.dst_ip(backend).dst_port(target);
}

Ipv4Address addr_of_backend(std::uint32_t id) {
  if (id >= kBeF0) {
    return backend_f_addr(id - kBeF0);
  }
  return backend_c_addr(id - kBeC0);
}

// A source port whose new flow to F:80/tcp lands on `want` (the standard table).
std::uint16_t sport_picking(std::uint32_t want, std::uint8_t proto, std::uint16_t dport) {
  for (std::uint16_t sport = 40000; sport < 50000; ++sport) {
    if (predict_pick(table_f(), kClient, kSvcF, sport, dport, proto) == want) {
      return sport;
    }
  }
  return 0;
}

void set_state(LbLab& lab, std::uint32_t id, pw_backend_state state) {
  auto be = lab.maps().backend(id);
  be.state = state;
  lab.maps().set_backend(id, be);
}

// Backend `gone` removed: slot cleared and the set rebuilt without it.
void remove_f_backend(LbLab& lab, std::uint32_t gone) {
  lab.maps().clear_backend(gone);
  const std::uint32_t keep = gone == kBeF0 ? kBeF1 : kBeF0;
  lab.maps().install_backend_set(kSetF, maglev_table({keep}, {addr_of_backend(keep)}));
}

std::vector<Fixture> dnat_rows() {
  std::vector<Fixture> out;
  {
    const auto b = from_client(kSvcA, 80);
    const auto in = b.tcp();
    out.push_back({"tcp_syn_to_service_is_translated_and_redirected",
                   {{Hook::kXdp, in, kXdpRedirect, redirected(b, kSandbox, kTargetTcp).tcp(),
                     forwarded(kFeATcp, kBeSandbox, in.size(), true)}}});
  }
  {
    // Same service, other port: its own target port, never the first port's.
    const auto b = from_client(kSvcA, 53).payload("query");
    const auto in = b.udp();
    out.push_back({"udp_to_service_gets_its_own_target_port",
                   {{Hook::kXdp, in, kXdpRedirect, redirected(b, kSandbox, kTargetUdp).udp(),
                     forwarded(kFeAUdp, kBeSandbox, in.size(), true)}}});
  }
  {
    const auto syn = from_client(kSvcA, 80);
    const auto ack = from_client(kSvcA, 80).tcp_flags(tcp_flags::kAck).tcp_seq(2).tcp_ack(77)
                         .payload("NICK portway\r\n");
    out.push_back({"tcp_established_flow_is_not_a_new_flow",
                   {{Hook::kXdp, syn.tcp(), kXdpRedirect, redirected(syn, kSandbox, kTargetTcp).tcp(),
                     forwarded(kFeATcp, kBeSandbox, syn.tcp().size(), true)},
                    {Hook::kXdp, ack.tcp(), kXdpRedirect, redirected(ack, kSandbox, kTargetTcp).tcp(),
                     forwarded(kFeATcp, kBeSandbox, ack.tcp().size(), false),
                     nullptr,
                     [](LbLab& lab) {
                       const auto f = lab.maps().flow(flow_key(kClient, kSvcA, 40000, 80, kTcp));
                       ASSERT_TRUE(f.has_value());
                       EXPECT_EQ(f->backend_id, kBeSandbox);
                       EXPECT_EQ(f->target_port, be16(kTargetTcp));
                       const auto rk = flow_key(kSandbox, kClient, kTargetTcp, 40000, kTcp);
                       const auto r = lab.maps().reply_translation(rk);
                       ASSERT_TRUE(r.has_value());
                       EXPECT_EQ(r->frontend_addr, be32(kSvcA));
                       EXPECT_EQ(r->frontend_port, be16(80));
                       // One entry for both directions (pw_conns): nothing in pw_reverse.
                       EXPECT_FALSE(lab.maps().reverse(rk).has_value());
                       EXPECT_EQ(lab.maps().conns().size(), 1u);
                     }}}});
  }
  {
    const auto b = from_client(kNode, kNodePortTcp);
    const auto in = b.tcp();
    out.push_back({"tcp_to_node_port_is_translated",
                   {{Hook::kXdp, in, kXdpRedirect, redirected(b, kSandbox, kTargetTcp).tcp(),
                     forwarded(kFeNodeTcp, kBeSandbox, in.size(), true)}}});
  }
  {
    const auto b = from_client(kNode, kNodePortUdp).payload("ping");
    const auto in = b.udp();
    out.push_back({"udp_to_node_port_is_translated",
                   {{Hook::kXdp, in, kXdpRedirect, redirected(b, kSandbox, kTargetUdp).udp(),
                     forwarded(kFeNodeUdp, kBeSandbox, in.size(), true)}}});
  }
  {
    const auto b = from_client(kNode2, kNodePortTcp);
    const auto in = b.tcp();
    out.push_back({"node_port_on_every_node_address",
                   {{Hook::kXdp, in, kXdpRedirect, redirected(b, kSandbox, kTargetTcp).tcp(),
                     forwarded(kFeNodeTcp, kBeSandbox, in.size(), true)}}});
  }
  {
    const auto b = from_client(kSvcE, 80);
    const auto in = b.tcp();
    out.push_back({"tcp_without_known_neighbour_is_translated_and_passed",
                   {{Hook::kXdp, in, kXdpPass, passed(b, kNoNeighBackend, kTargetTcp).tcp(),
                     forwarded(kFeETcp, kBeNoNeigh, in.size(), true)}}});
  }
  {
    const auto b = from_client(kSvcE, 53).payload("AAAA? example");
    const auto in = b.udp();
    out.push_back({"udp_without_known_neighbour_is_translated_and_passed",
                   {{Hook::kXdp, in, kXdpPass, passed(b, kNoNeighBackend, kTargetUdp).udp(),
                     forwarded(kFeEUdp, kBeNoNeigh, in.size(), true)}}});
  }
  {
    const auto b = from_client(kSvcA, 80).tcp_flags(tcp_flags::kAck).payload(
        std::vector<std::uint8_t>(1400, 0x42));
    const auto in = b.tcp();
    out.push_back({"bytes_counted_as_whole_frames",
                   {{Hook::kXdp, in, kXdpRedirect, redirected(b, kSandbox, kTargetTcp).tcp(),
                     forwarded(kFeATcp, kBeSandbox, in.size(), true)}}});
  }
  {
    const auto b = from_client(kSvcA, 80).ttl(2);
    const auto in = b.tcp();
    out.push_back({"ttl_2_is_forwarded_with_ttl_1",
                   {{Hook::kXdp, in, kXdpRedirect, redirected(b, kSandbox, kTargetTcp, 1).tcp(),
                     forwarded(kFeATcp, kBeSandbox, in.size(), true)}}});
  }
  {
    // The sandbox was re-created at the same address with a new MAC: reprogramming its
    // backend drops the cached next hop, so the next packet goes to the new MAC.
    const auto syn = from_client(kSvcA, 80);
    const auto ack = from_client(kSvcA, 80).tcp_flags(tcp_flags::kAck);
    const MacAddress new_mac{0x02, 0x00, 0x00, 0x00, 0x01, 0x99};
    out.push_back(
        {"reprogrammed_backend_is_resolved_again",
         {{Hook::kXdp, syn.tcp(), kXdpRedirect, redirected(syn, kSandbox, kTargetTcp).tcp(),
           forwarded(kFeATcp, kBeSandbox, syn.tcp().size(), true)},
          {Hook::kXdp, ack.tcp(), kXdpRedirect,
           redirected(ack, kSandbox, kTargetTcp, 63, new_mac).tcp(),
           forwarded(kFeATcp, kBeSandbox, ack.tcp().size(), false),
           [](LbLab& lab) {
             lab.set_neighbour(kSandbox, {0x02, 0x00, 0x00, 0x00, 0x01, 0x99});
             lab.maps().set_backend(kBeSandbox, lab.maps().backend(kBeSandbox));
           },
           [](LbLab& lab) { lab.set_neighbour(kSandbox, kSandboxMac); }}}});
  }
  {
    const auto b = from_client(kSvcD, 9000).payload("small");
    const auto in = b.udp();
    out.push_back({"udp_within_path_mtu_is_redirected",
                   {{Hook::kXdp, in, kXdpRedirect,
                     redirected(b, kSmallMtuBackend, 9000, 63, kSmallMtuMac).udp(),
                     forwarded(kFeDUdp, kBeSmallMtu, in.size(), true)}}});
  }
  return out;
}

std::vector<Fixture> untouched_rows() {
  std::vector<Fixture> out;
  const auto pass = [&](const std::string& name, std::vector<std::uint8_t> in) {
    out.push_back({name, {{Hook::kXdp, std::move(in), kXdpPass, std::nullopt, nothing()}}});
  };
  pass("node_port_number_to_other_destination_untouched_tcp",
       from_client(kElsewhere, kNodePortTcp).tcp());
  pass("node_port_number_to_other_destination_untouched_udp",
       from_client(kElsewhere, kNodePortUdp).payload("x").udp());
  pass("service_port_number_to_other_destination_untouched", from_client(kElsewhere, 80).tcp());
  pass("node_address_other_tcp_port_untouched", from_client(kNode, 22).tcp());
  pass("node_address_other_udp_port_untouched", from_client(kNode, 123).payload("ntp").udp());
  pass("node_address_node_port_other_protocol_untouched",
       from_client(kNode, kNodePortTcp).payload("x").udp());
  pass("other_ip_protocol_to_service_untouched",
       from_client(kSvcA, 0).payload(std::vector<std::uint8_t>(24, 0x11)).ip(kGre));
  pass("icmp_echo_to_service_untouched",
       from_client(kSvcA, 0).payload("abcdefgh").icmp(8, 0, 0x12340001));
  pass("icmp_echo_reply_to_node_untouched",
       from_client(kNode, 0).payload("abcdefgh").icmp(0, 0, 0x12340001));
  pass("client_reply_to_other_host_untouched",
       PacketBuilder{}.src_ip(kClient2).dst_ip(kClient).src_port(80).dst_port(40000).tcp());
  return out;
}

std::vector<Fixture> reject_rows() {
  std::vector<Fixture> out;
  const auto reject = [&](const std::string& name, std::vector<std::uint8_t> in,
                          std::vector<std::uint8_t> answer, Expect e) {
    out.push_back({name, {{Hook::kXdp, std::move(in), kXdpTx, std::move(answer), std::move(e)}}});
  };
  {
    const auto in = from_client(kSvcB, 80).tcp_seq(1000).tcp();
    reject("frontend_without_backend_tcp_syn_gets_reset", in, expected_rst(in),
           rejected(PW_DROP_NO_BACKEND, kFeBTcp));
  }
  {
    const auto in = from_client(kSvcB, 53).payload("query").udp();
    reject("frontend_without_backend_udp_gets_port_unreachable", in, expected_icmp(in, 3, 3),
           rejected(PW_DROP_NO_BACKEND, kFeBUdp));
  }
  {
    const auto in = from_client(kSvcB, 80).tcp_flags(tcp_flags::kAck | tcp_flags::kPsh)
                        .tcp_seq(5).tcp_ack(0xdeadbeef).payload("hello").tcp();
    reject("frontend_without_backend_ack_segment_reset_takes_its_ack", in, expected_rst(in),
           rejected(PW_DROP_NO_BACKEND, kFeBTcp));
  }
  {
    const auto in = from_client(kSvcB, 80).tcp_flags(tcp_flags::kFin).tcp_seq(0xfffffff0)
                        .payload("0123456789abcdefXYZ").tcp();
    reject("frontend_without_backend_fin_reset_acknowledges_payload_and_fin", in,
           expected_rst(in), rejected(PW_DROP_NO_BACKEND, kFeBTcp));
  }
  {
    const auto in = from_client(kSvcA, 81).tcp();
    reject("undeclared_tcp_port_gets_reset", in, expected_rst(in),
           rejected(PW_DROP_UNDECLARED_PORT));
  }
  {
    const auto in = from_client(kSvcA, 54).payload("q").udp();
    reject("undeclared_udp_port_gets_port_unreachable", in, expected_icmp(in, 3, 3),
           rejected(PW_DROP_UNDECLARED_PORT));
  }
  {
    const auto in = from_client(kSvcA, 80).payload("not tcp").udp();
    reject("udp_to_tcp_only_port_gets_port_unreachable", in, expected_icmp(in, 3, 3),
           rejected(PW_DROP_UNDECLARED_PORT));
  }
  {
    const auto in = from_client(kSvcA, 53).tcp();
    reject("tcp_to_udp_only_port_gets_reset", in, expected_rst(in),
           rejected(PW_DROP_UNDECLARED_PORT));
  }
  {
    const auto in = from_client(kSvcB, 53).payload(std::vector<std::uint8_t>(1200, 7)).udp();
    reject("port_unreachable_quotes_only_header_and_8_bytes", in, expected_icmp(in, 3, 3),
           rejected(PW_DROP_NO_BACKEND, kFeBUdp));
  }
  out.push_back({"reset_is_never_answered_with_a_reset",
                 {{Hook::kXdp, from_client(kSvcB, 80).tcp_flags(tcp_flags::kRst).tcp(), kXdpDrop,
                   std::nullopt, dropped(PW_DROP_NO_BACKEND)}}});
  out.push_back({"undeclared_port_reset_is_dropped_silently",
                 {{Hook::kXdp, from_client(kSvcA, 81).tcp_flags(tcp_flags::kRst).tcp(), kXdpDrop,
                   std::nullopt, dropped(PW_DROP_UNDECLARED_PORT)}}});
  out.push_back({"no_answer_to_a_broadcast_source",
                 {{Hook::kXdp,
                   from_client(kSvcB, 53).src_ip({255, 255, 255, 255}).payload("x").udp(),
                   kXdpDrop, std::nullopt, dropped(PW_DROP_NO_BACKEND)}}});
  out.push_back({"no_answer_to_a_multicast_source",
                 {{Hook::kXdp, from_client(kSvcA, 54).src_ip({224, 0, 0, 9}).payload("x").udp(),
                   kXdpDrop, std::nullopt, dropped(PW_DROP_UNDECLARED_PORT)}}});
  return out;
}

std::vector<Fixture> maglev_rows() {
  std::vector<Fixture> out;
  for (const std::uint8_t proto : {kTcp, kUdp}) {
    Fixture f{proto == kTcp ? "new_tcp_flows_follow_the_maglev_table"
                            : "new_udp_flows_follow_the_maglev_table",
              {}};
    for (std::uint16_t i = 0; i < 16; ++i) {
      const std::uint16_t sport = static_cast<std::uint16_t>(41000 + 97 * i);
      const std::uint16_t dport = proto == kTcp ? 80 : 53;
      const std::uint16_t target = proto == kTcp ? kTargetTcp : kTargetUdp;
      const std::uint32_t id = predict_pick(table_c(), kClient, kSvcC, sport, dport, proto);
      const auto b = from_client(kSvcC, dport).src_port(sport).payload("m");
      const auto in = proto == kTcp ? b.tcp() : b.udp();
      const auto want = passed(b, addr_of_backend(id), target);
      f.steps.push_back({Hook::kXdp, in, kXdpPass, proto == kTcp ? want.tcp() : want.udp(),
                         forwarded(proto == kTcp ? kFeCTcp : kFeCUdp, id, in.size(), true)});
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<Fixture> backend_change_rows() {
  std::vector<Fixture> out;
  {
    // Draining: established flows stay, also a SYN retransmission on the same tuple.
    const std::uint16_t sport = sport_picking(kBeF0, kTcp, 80);
    const auto syn = from_client(kSvcF, 80).src_port(sport);
    const auto ack = from_client(kSvcF, 80).src_port(sport).tcp_flags(tcp_flags::kAck);
    out.push_back(
        {"established_flow_stays_on_draining_backend",
         {{Hook::kXdp, syn.tcp(), kXdpPass, passed(syn, backend_f_addr(0), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF0, syn.tcp().size(), true)},
          {Hook::kXdp, ack.tcp(), kXdpPass, passed(ack, backend_f_addr(0), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF0, ack.tcp().size(), false),
           [](LbLab& lab) { set_state(lab, kBeF0, PW_BACKEND_DRAINING); }},
          {Hook::kXdp, syn.tcp(), kXdpPass, passed(syn, backend_f_addr(0), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF0, syn.tcp().size(), false)}}});
  }
  {
    // A stale table still names the draining backend: new flows skip to a running one.
    const std::uint16_t sport = sport_picking(kBeF0, kUdp, 53);
    const auto b = from_client(kSvcF, 53).src_port(sport).payload("new");
    const std::uint32_t id =
        predict_pick(table_f(), kClient, kSvcF, sport, 53, kUdp, {kBeF0});
    out.push_back(
        {"draining_backend_takes_no_new_flows",
         {{Hook::kXdp, b.udp(), kXdpPass, passed(b, addr_of_backend(id), kTargetUdp).udp(),
           forwarded(kFeFUdp, id, b.udp().size(), true),
           [](LbLab& lab) { set_state(lab, kBeF0, PW_BACKEND_DRAINING); },
           [id](LbLab&) { EXPECT_EQ(id, kBeF1); }}}});
  }
  {
    const std::uint16_t sport = sport_picking(kBeF1, kTcp, 80);
    const auto b = from_client(kSvcF, 80).src_port(sport);
    out.push_back({"set_with_only_draining_backends_rejects_new_flows",
                   {{Hook::kXdp, b.tcp(), kXdpTx, expected_rst(b.tcp()),
                     rejected(PW_DROP_NO_BACKEND, kFeFTcp), [](LbLab& lab) {
                       set_state(lab, kBeF0, PW_BACKEND_DRAINING);
                       set_state(lab, kBeF1, PW_BACKEND_DRAINING);
                     }}}});
  }
  {
    const std::uint16_t sport = sport_picking(kBeF0, kTcp, 80);
    const auto syn = from_client(kSvcF, 80).src_port(sport).tcp_seq(100);
    const auto ack = from_client(kSvcF, 80).src_port(sport).tcp_flags(tcp_flags::kAck)
                         .tcp_seq(101).tcp_ack(5000).payload("data");
    out.push_back(
        {"tcp_flow_of_removed_backend_is_reset",
         {{Hook::kXdp, syn.tcp(), kXdpPass, passed(syn, backend_f_addr(0), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF0, syn.tcp().size(), true)},
          {Hook::kXdp, ack.tcp(), kXdpTx, expected_rst(ack.tcp()),
           rejected(PW_DROP_BACKEND_GONE, kFeFTcp),
           [](LbLab& lab) { remove_f_backend(lab, kBeF0); },
           [sport](LbLab& lab) {
             EXPECT_FALSE(lab.maps().flow(flow_key(kClient, kSvcF, sport, 80, kTcp)));
             EXPECT_FALSE(lab.maps().reply_translation(
                 flow_key(backend_f_addr(0), kClient, kTargetTcp, sport, kTcp)));
           }}}});
  }
  {
    const std::uint16_t sport = sport_picking(kBeF0, kTcp, 80);
    const auto syn = from_client(kSvcF, 80).src_port(sport);
    const auto rst = from_client(kSvcF, 80).src_port(sport).tcp_flags(tcp_flags::kRst);
    out.push_back(
        {"reset_on_flow_of_removed_backend_is_dropped",
         {{Hook::kXdp, syn.tcp(), kXdpPass, passed(syn, backend_f_addr(0), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF0, syn.tcp().size(), true)},
          {Hook::kXdp, rst.tcp(), kXdpDrop, std::nullopt, dropped(PW_DROP_BACKEND_GONE),
           [](LbLab& lab) { remove_f_backend(lab, kBeF0); }}}});
  }
  {
    const std::uint16_t sport = sport_picking(kBeF0, kTcp, 80);
    const auto syn = from_client(kSvcF, 80).src_port(sport);
    out.push_back(
        {"fresh_syn_on_flow_of_removed_backend_is_picked_again",
         {{Hook::kXdp, syn.tcp(), kXdpPass, passed(syn, backend_f_addr(0), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF0, syn.tcp().size(), true)},
          {Hook::kXdp, syn.tcp(), kXdpPass, passed(syn, backend_f_addr(1), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF1, syn.tcp().size(), true),
           [](LbLab& lab) { remove_f_backend(lab, kBeF0); }}}});
  }
  {
    const std::uint16_t sport = sport_picking(kBeF0, kUdp, 53);
    const auto b = from_client(kSvcF, 53).src_port(sport).payload("stream");
    out.push_back(
        {"udp_flow_of_removed_backend_moves_on_next_datagram",
         {{Hook::kXdp, b.udp(), kXdpPass, passed(b, backend_f_addr(0), kTargetUdp).udp(),
           forwarded(kFeFUdp, kBeF0, b.udp().size(), true)},
          {Hook::kXdp, b.udp(), kXdpPass, passed(b, backend_f_addr(1), kTargetUdp).udp(),
           forwarded(kFeFUdp, kBeF1, b.udp().size(), true),
           [](LbLab& lab) { remove_f_backend(lab, kBeF0); },
           [sport](LbLab& lab) {
             const auto f = lab.maps().flow(flow_key(kClient, kSvcF, sport, 53, kUdp));
             ASSERT_TRUE(f.has_value());
             EXPECT_EQ(f->backend_id, kBeF1);
           }}}});
  }
  {
    // The backend id was given to another sandbox: the old flow must not follow the id.
    const std::uint16_t sport = sport_picking(kBeF0, kUdp, 53);
    const auto b = from_client(kSvcF, 53).src_port(sport).payload("again");
    const Ipv4Address reused{198, 18, 128, 99};
    out.push_back(
        {"udp_flow_whose_backend_slot_was_reused_is_picked_again",
         {{Hook::kXdp, b.udp(), kXdpPass, passed(b, backend_f_addr(0), kTargetUdp).udp(),
           forwarded(kFeFUdp, kBeF0, b.udp().size(), true)},
          {Hook::kXdp, b.udp(), kXdpPass, passed(b, reused, kTargetUdp).udp(),
           forwarded(kFeFUdp, kBeF0, b.udp().size(), true), [reused](LbLab& lab) {
             auto be = lab.maps().backend(kBeF0);
             be.addr = be32(reused);
             lab.maps().set_backend(kBeF0, be);
           }}}});
  }
  {
    // Flow state survives a table swap that keeps its backend (only ~1/N of new flows move).
    const std::uint16_t sport = sport_picking(kBeF1, kTcp, 80);
    const auto syn = from_client(kSvcF, 80).src_port(sport);
    const auto ack = from_client(kSvcF, 80).src_port(sport).tcp_flags(tcp_flags::kAck);
    out.push_back(
        {"established_flow_survives_backend_set_swap",
         {{Hook::kXdp, syn.tcp(), kXdpPass, passed(syn, backend_f_addr(1), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF1, syn.tcp().size(), true)},
          {Hook::kXdp, ack.tcp(), kXdpPass, passed(ack, backend_f_addr(1), kTargetTcp).tcp(),
           forwarded(kFeFTcp, kBeF1, ack.tcp().size(), false), [](LbLab& lab) {
             // Every slot now names backend 0: a new flow would go there.
             lab.maps().install_backend_set(kSetF, std::vector<std::uint32_t>(kMaglevM, kBeF0));
           }}}});
  }
  return out;
}

}  // namespace

std::vector<Fixture> semantics_fixtures() {
  return concat(
      {dnat_rows(), untouched_rows(), reject_rows(), maglev_rows(), backend_change_rows()});
}

}  // namespace portway::test::lb
