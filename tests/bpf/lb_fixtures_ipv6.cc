// IPv6 rows of the semantics table (docs/dataplane.md "Semantics") and the IPv6 forms of the
// bad-input classes (docs/xdp-dataplane.md "Bad input"), through the same programs.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "lb_fixture6.h"
#include "loader/xdp_features.h"

namespace portway::test::lb {
namespace {


// The ICMPv6 error a reject builds: from the input's destination, quoting its IPv6 header,
// extension headers and 8 bytes of the upper layer.
std::vector<std::uint8_t> icmp6_answer(const std::vector<std::uint8_t>& in, std::size_t l4_off,
                                       std::uint8_t type, std::uint8_t code,
                                       std::uint32_t rest = 0) {
  Ipv6Address src{}, dst{};
  std::copy_n(in.begin() + 38, 16, src.begin());
  std::copy_n(in.begin() + 22, 16, dst.begin());
  MacAddress smac{}, dmac{};
  std::copy_n(in.begin(), 6, smac.begin());
  std::copy_n(in.begin() + 6, 6, dmac.begin());
  const std::vector<std::uint8_t> quote(in.begin() + 14,
                                        in.begin() + static_cast<std::ptrdiff_t>(l4_off + 8));
  return Packet6{}.src_mac(smac).dst_mac(dmac).src(src).dst(dst).payload(quote).icmp6(type, code,
                                                                                      rest);
}

// The reset XDP answers a client segment to frontend `from`:80 with (flags, seq, ack): window 0
// (the builder's 65535 patched), checksum recomputed.
std::vector<std::uint8_t> reset6(const Ipv6Address& from, std::uint8_t flags, std::uint32_t seq,
                                 std::uint32_t ack) {
  auto want = Packet6{}.src_mac(kNodeMac).dst_mac(kClientMac).src(from).dst(kClient6)
                  .src_port(80).dst_port(40000).tcp_flags(flags).tcp_seq(seq).tcp_ack(ack).tcp();
  want[14 + 40 + 14] = 0;
  want[14 + 40 + 15] = 0;
  want[14 + 40 + 16] = 0;
  want[14 + 40 + 17] = 0;
  const auto c = ipv6_l4_checksum(from, kClient6, kTcp,
                                  std::vector<std::uint8_t>(want.begin() + 54, want.end()));
  want[14 + 40 + 16] = static_cast<std::uint8_t>(c >> 8);
  want[14 + 40 + 17] = static_cast<std::uint8_t>(c & 0xff);
  return want;
}

// Backend 0 goes away and backend 20 joins set 0 in its place: backend 0's entry cleared,
// backend 20's set moved to 0, and set 0's IPv6 table switched to set 3's (every slot backend
// 20), written straight into pw_set_descs6 as lb_lab6.cc does, so the slot allocator of the
// lab's LbMaps never sees a region two families share.
void replace_backend0_by_backend20(LbLab& lab) {
  lab.maps().clear_backend(kBeSandbox);
  pw_backend be20 = lab.maps().backend(kBeSmallMtu);
  be20.set_id = 0;
  lab.maps().set_backend(kBeSmallMtu, be20);
  const std::uint32_t set = 0;
  const std::uint64_t desc = lab.maps().backend_set_descriptor(3);
  ASSERT_EQ(bpf_map_update_elem(lab.fds().set_descs6, &set, &desc, BPF_ANY), 0);
}

// What XDP forwards to backend 20 for `b`.
Packet6 to_backend20(Packet6 b, std::uint16_t target) {
  return b.dst(kSmallMtu6).dst_port(target).hop_limit(63).src_mac(kHostVethMac)
      .dst_mac(kSmallMtuMac);
}

// TCP flows whose backend went away (the IPv6 rows of lb_fixtures_semantics.cc's): a fresh
// SYN is picked anew, any other segment is answered with a reset, a reset is dropped.
std::vector<Fixture> repick6() {
  std::vector<Fixture> f;
  const auto syn = client6(kSvc6A, 80).tcp_seq(100);
  f.push_back({"v6_fresh_syn_on_flow_of_removed_backend_is_picked_again",
               {syn6(kSvc6A, 80, kFe6ATcp),
                {Hook::kXdp, syn.tcp(), kXdpRedirect, to_backend20(syn, kTargetTcp).tcp(),
                 forwarded(kFe6ATcp, kBeSmallMtu, syn.tcp().size(), true),
                 replace_backend0_by_backend20,
                 [](LbLab& lab) {
                   pw_flow6_key k{};
                   std::memcpy(&k.saddr, kClient6.data(), 16);
                   std::memcpy(&k.daddr, kSvc6A.data(), 16);
                   k.sport = be16(40000);
                   k.dport = be16(80);
                   k.proto = kTcp;
                   const auto flow = lab.maps().flow6(k);
                   ASSERT_TRUE(flow.has_value());
                   EXPECT_EQ(flow->backend_id, kBeSmallMtu);
                   EXPECT_TRUE(lab.maps().reply_translation6(loader::reverse_key_of(k, *flow)).has_value());
                   EXPECT_EQ(lab.maps().conns6().size(), 1u) << "one entry for both directions";
                 }}}});
  const auto ack = client6(kSvc6A, 80).tcp_flags(0x10).tcp_seq(101).tcp_ack(5000).payload("data");
  f.push_back({"v6_tcp_flow_of_removed_backend_is_reset",
               {syn6(kSvc6A, 80, kFe6ATcp),
                {Hook::kXdp, ack.tcp(), kXdpTx, reset6(kSvc6A, 0x04, 5000, 0),
                 rejected(PW_DROP_BACKEND_GONE, kFe6ATcp), replace_backend0_by_backend20,
                 [](LbLab& lab) { EXPECT_EQ(flows6_count(lab), 0u); }}}});
  const auto rst = client6(kSvc6A, 80).tcp_flags(0x04).tcp_seq(101);
  f.push_back({"v6_reset_on_flow_of_removed_backend_is_dropped",
               {syn6(kSvc6A, 80, kFe6ATcp),
                {Hook::kXdp, rst.tcp(), kXdpDrop, std::nullopt, dropped(PW_DROP_BACKEND_GONE),
                 replace_backend0_by_backend20}}});
  return f;
}

std::vector<Fixture> semantics6() {
  std::vector<Fixture> f;
  {
    const auto b = client6(kSvc6A, 80);
    f.push_back({"v6_tcp_syn_to_service_translated_to_backend", {syn6(kSvc6A, 80, kFe6ATcp)}});
    const auto ack = PacketBuilder{};  // unused; keeps the style of the IPv4 tables
    (void)ack;
    auto est = client6(kSvc6A, 80).tcp_flags(0x10).tcp_seq(2).tcp_ack(5).payload("GET /");
    f.push_back({"v6_established_tcp_flow_stays_on_its_backend",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  {Hook::kXdp, est.tcp(), kXdpRedirect, to_sandbox(est, kTargetTcp).tcp(),
                   with_events(forwarded(kFe6ATcp, kBeSandbox, est.tcp().size(), false),
                               {{PW_EV_XDP_REDIRECT, 1}})}}});
    (void)b;
  }
  {
    const auto b = client6(kSvc6A, 53).payload("query");
    f.push_back({"v6_udp_to_service_translated_to_backend",
                 {{Hook::kXdp, b.udp(), kXdpRedirect, to_sandbox(b, kTargetUdp).udp(),
                   forwarded(kFe6AUdp, kBeSandbox, b.udp().size(), true)}}});
  }
  {
    const auto b = client6(kNode6, kNodePortTcp);
    f.push_back({"v6_node_port_on_ipv6_node_address_translated",
                 {{Hook::kXdp, b.tcp(), kXdpRedirect, to_sandbox(b, kTargetTcp).tcp(),
                   forwarded(kFe6NodeTcp, kBeSandbox, b.tcp().size(), true)}}});
    const auto other = client6(kElsewhere6, kNodePortTcp);
    f.push_back({"v6_node_port_number_to_another_address_untouched",
                 {{Hook::kXdp, other.tcp(), kXdpPass, std::nullopt, nothing()}}});
    const auto node_other_port = client6(kNode6, 22);
    f.push_back({"v6_other_port_of_node_address_untouched",
                 {{Hook::kXdp, node_other_port.tcp(), kXdpPass, std::nullopt, nothing()}}});
  }
  {
    const auto t = client6(kSvc6B, 80).tcp();
    // Reset of a SYN: RST|ACK acknowledging it.
    const auto want = reset6(kSvc6B, 0x14, 0, 2);
    f.push_back({"v6_tcp_to_service_without_backend_gets_reset",
                 {{Hook::kXdp, t, kXdpTx, want, rejected(PW_DROP_NO_BACKEND, kFe6BTcp)}}});
    const auto u = client6(kSvc6B, 53).payload("q").udp();
    f.push_back({"v6_udp_to_service_without_backend_gets_port_unreachable",
                 {{Hook::kXdp, u, kXdpTx, icmp6_answer(u, 54, 1, 4),
                   rejected(PW_DROP_NO_BACKEND, kFe6BUdp)}}});
    const auto undeclared = client6(kSvc6A, 5000).payload("q").udp();
    f.push_back({"v6_undeclared_udp_port_gets_port_unreachable",
                 {{Hook::kXdp, undeclared, kXdpTx, icmp6_answer(undeclared, 54, 1, 4),
                   rejected(PW_DROP_UNDECLARED_PORT)}}});
  }
  {
    const auto b = client6(kSvc6A, 80).hop_limit(1);
    f.push_back({"v6_hop_limit_1_to_frontend_gets_time_exceeded",
                 {{Hook::kXdp, b.tcp(), kXdpTx, icmp6_answer(b.tcp(), 54, 3, 0),
                   rejected(PW_DROP_TTL_EXPIRED)}}});
  }
  {
    // Replies leave the backend (tc) and get the frontend back as their source.
    const auto reply = Packet6{}.src_mac(kSandboxMac).dst_mac(kHostVethMac).src(kSandbox6)
                           .dst(kClient6).src_port(kTargetTcp).dst_port(40000)
                           .tcp_flags(0x12).tcp_ack(2).payload("");
    const auto want = Packet6{reply}.src(kSvc6A).src_port(80).hop_limit(63)
                          .src_mac(kNodeMac).dst_mac(kClientMac);
    f.push_back({"v6_reply_from_backend_gets_the_frontend_as_source",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  {Hook::kTc, reply.tcp(), kTcRedirect, want.tcp(), nothing()}}});
  }
  {
    // A sandbox reaching its own service and picked itself: source becomes the hairpin node
    // address, back out of the same veth.
    const auto b = Packet6{}.src_mac(kSandboxMac).dst_mac(kHostVethMac).src(kSandbox6)
                       .dst(kSvc6A).src_port(41000).dst_port(80);
    const auto want = Packet6{b}.src(kNode6).dst(kSandbox6).dst_port(kTargetTcp).hop_limit(63)
                          .src_mac(kHostVethMac).dst_mac(kSandboxMac);
    const auto reply = Packet6{}.src_mac(kSandboxMac).dst_mac(kHostVethMac).src(kSandbox6)
                           .dst(kNode6).src_port(kTargetTcp).dst_port(41000).tcp_flags(0x12);
    const auto reply_want = Packet6{reply}.src(kSvc6A).dst(kSandbox6).src_port(80).hop_limit(63)
                                .src_mac(kHostVethMac).dst_mac(kSandboxMac);
    f.push_back({"v6_hairpin_sandbox_to_its_own_service",
                 {{Hook::kTc, b.tcp(), kTcRedirect, want.tcp(),
                   forwarded(kFe6ATcp, kBeSandbox, b.tcp().size(), true)},
                  {Hook::kTc, reply.tcp(), kTcRedirect, reply_want.tcp(), nothing()}}});
  }
  {
    // A flow whose frontend gen moved on is not followed: counted, picked anew.
    const auto b = client6(kSvc6A, 80);
    Step again = syn6(kSvc6A, 80, kFe6ATcp);
    again.before = [](LbLab& lab) { set_frontend_gen(lab, kFe6ATcp, kGen6 + 1); };
    again.expect.events = std::map<std::uint32_t, std::uint64_t>{
        {PW_EV_FLOW_STALE_FRONTEND, 1}, {PW_EV_XDP_REDIRECT, 1}};
    f.push_back({"v6_flow_of_a_replaced_frontend_gen_is_not_followed",
                 {syn6(kSvc6A, 80, kFe6ATcp), again}});
    (void)b;
  }
  {
    // Oversize towards a backend behind an MTU 1280 route: packet too big with that MTU,
    // quoting the untranslated packet.
    const std::vector<std::uint8_t> big(1300, 7);
    const auto b = client6(kSvc6D, 9000).payload(big);
    const auto in = b.udp();
    f.push_back({"v6_udp_above_path_mtu_gets_packet_too_big",
                 {{Hook::kXdp, in, kXdpTx, icmp6_answer(in, 54, 2, 0, kSmallMtu6Value),
                   dropped(PW_DROP_OVERSIZE)}}});
  }
  {
    // Packet too big from a router about a reply (frontend -> client): to the backend, the
    // quote translated back to what the backend sent. Never dropped.
    const auto quoted = Packet6{}.src(kSvc6A).dst(kClient6).src_port(80).dst_port(40000)
                            .tcp_flags(0x10).hop_limit(63).tcp();
    const std::vector<std::uint8_t> q(quoted.begin() + 14, quoted.begin() + 14 + 48);
    const auto router = lab6(0, 0x99);
    const auto ptb = Packet6{}.src(router).dst(kSvc6A).payload(q);
    const auto quoted_back = Packet6{}.src(kSandbox6).dst(kClient6).src_port(kTargetTcp)
                                 .dst_port(40000).tcp_flags(0x10).hop_limit(63).tcp();
    const std::vector<std::uint8_t> qb(quoted_back.begin() + 14, quoted_back.begin() + 14 + 48);
    const auto want = Packet6{ptb}.dst(kSandbox6).payload(qb).hop_limit(63)
                          .src_mac(kHostVethMac).dst_mac(kSandboxMac);
    f.push_back({"v6_packet_too_big_about_a_reply_goes_to_the_backend",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  {Hook::kXdp, ptb.icmp6(2, 0, 1400), kXdpRedirect, want.icmp6(2, 0, 1400),
                   forwarded(kFe6ATcp, kBeSandbox, ptb.icmp6(2, 0, 1400).size(), false)}}});
    const std::vector<std::uint8_t> short_q(quoted.begin() + 14, quoted.begin() + 14 + 20);
    const auto cut = Packet6{}.src(router).dst(kSvc6A).payload(short_q);
    f.push_back({"v6_packet_too_big_with_cut_quote_to_service_passed_never_dropped",
                 {{Hook::kXdp, cut.icmp6(2, 0, 1400), kXdpPass, std::nullopt, nothing()}}});
    f.push_back({"v6_unreachable_with_cut_quote_to_service_dropped",
                 {{Hook::kXdp, cut.icmp6(1, 0), kXdpDrop, std::nullopt,
                   dropped(PW_DROP_ICMP_TRUNCATED)}}});
  }
  {
    // With the IPv6 prefix filter on and covering only 2001:2:0:1::/64 (the node addresses),
    // a SYN to a service frontend is not portway's: untouched, no flow, no counter.
    Step outside{Hook::kXdp, client6(kSvc6A, 80).tcp(), kXdpPass, std::nullopt, nothing()};
    outside.expect.events = std::map<std::uint32_t, std::uint64_t>{};
    outside.before = [](LbLab& lab) {
      pw_prefilter pf{};
      pf.flags = PW_PREFILTER_ON6;
      pf.count6 = 1;
      std::memcpy(&pf.v6[0].addr, kNode6.data(), 8);
      std::memset(&pf.v6[0].mask, 0xff, 8);
      lab.maps().set_prefilter(pf);
    };
    outside.check = [](LbLab& lab) {
      EXPECT_EQ(flows6_count(lab), 0u);
      lab.maps().set_prefilter(pw_prefilter{});
    };
    f.push_back({"v6_prefilter_on_leaves_a_destination_outside_untouched", {outside}});
  }
  return f;
}

std::vector<Fixture> bad_input6() {
  std::vector<Fixture> f;
  {
    const auto b = client6(kSvc6A, 53).payload("query").udp_checksum(false);
    f.push_back({"v6_udp_checksum_zero_to_service_dropped",
                 {{Hook::kXdp, b.udp(), kXdpDrop, std::nullopt,
                   dropped(PW_DROP_UDP6_ZERO_CHECKSUM)}}});
  }
  {
    // Hop-by-hop and destination options before TCP: translated, the options kept.
    const auto b = client6(kSvc6A, 80).hop_by_hop().dest_opts();
    f.push_back({"v6_extension_headers_to_service_are_kept_through_translation",
                 {{Hook::kXdp, b.tcp(), kXdpRedirect, to_sandbox(b, kTargetTcp).tcp(),
                   forwarded(kFe6ATcp, kBeSandbox, b.tcp().size(), true)}}});
  }
  {
    // A destination-options header announcing 16 bytes where the packet ends after 8.
    auto b = client6(kSvc6A, 80).ext(kNextDest, {1, 1, 4, 0, 0, 0, 0}).tcp();
    b.resize(14 + 40 + 8);
    b[18] = 0;
    b[19] = 8;
    f.push_back({"v6_truncated_extension_header_to_service_dropped",
                 {{Hook::kXdp, b, kXdpDrop, std::nullopt, dropped(PW_DROP_IP6_TRUNCATED)}}});
    auto e = client6(kElsewhere6, 80).ext(kNextDest, {1, 1, 4, 0, 0, 0, 0}).tcp();
    e.resize(14 + 40 + 8);
    e[18] = 0;
    e[19] = 8;
    f.push_back({"v6_truncated_extension_header_elsewhere_untouched",
                 {{Hook::kXdp, e, kXdpPass, std::nullopt, nothing()}}});
  }
  {
    auto b = client6(kSvc6A, 80);
    for (int i = 0; i < 10; ++i) b.dest_opts();
    f.push_back({"v6_chain_of_10_extension_headers_to_service_dropped",
                 {{Hook::kXdp, b.tcp(), kXdpDrop, std::nullopt, dropped(PW_DROP_IP6_EXT_CHAIN)}}});
    auto n = client6(kNode6, 22);
    for (int i = 0; i < 10; ++i) n.dest_opts();
    f.push_back({"v6_chain_of_10_extension_headers_to_node_passed",
                 {{Hook::kXdp, n.tcp(), kXdpPass, std::nullopt, nothing()}}});
  }
  {
    auto b = client6(kSvc6A, 80).payload("x").tcp();
    b[18] = 0x10;  // payload_len 4096, beyond the frame
    f.push_back({"v6_payload_len_beyond_frame_to_service_dropped",
                 {{Hook::kXdp, b, kXdpDrop, std::nullopt, dropped(PW_DROP_IP6_BAD_PAYLOAD_LEN)}}});
  }
  {
    // A routing header with no segments left: this is the final destination, translated.
    const auto done = client6(kSvc6A, 80).ext(kNextRouting, {0, 4, 0, 0, 0, 0, 0});
    f.push_back({"v6_routing_header_with_no_segments_left_translated",
                 {{Hook::kXdp, done.tcp(), kXdpRedirect, to_sandbox(done, kTargetTcp).tcp(),
                   forwarded(kFe6ATcp, kBeSandbox, done.tcp().size(), true)}}});
    // Segments left: the service address is a waypoint; untouched, counted, no flow.
    const auto via = client6(kSvc6A, 80).ext(kNextRouting, {0, 4, 1, 0, 0, 0, 0}).tcp();
    Expect e;
    e.events = std::map<std::uint32_t, std::uint64_t>{{PW_EV_IP6_UNKNOWN_EXT, 1}};
    f.push_back({"v6_routing_header_with_segments_left_untouched_and_counted",
                 {{Hook::kXdp, via, kXdpPass, std::nullopt, e}}});
  }
  {
    const auto esp = client6(kSvc6A, 80).payload(std::vector<std::uint8_t>(16, 1)).raw(kNextEsp);
    Expect e;
    e.events = std::map<std::uint32_t, std::uint64_t>{{PW_EV_IP6_UNKNOWN_EXT, 1}};
    f.push_back({"v6_unknown_next_header_to_service_counted_and_untouched",
                 {{Hook::kXdp, esp, kXdpPass, std::nullopt, e}}});
  }
  {
    // Neighbour solicitation for a service address: untouched, not even counted.
    const std::vector<std::uint8_t> target(kSvc6A.begin(), kSvc6A.end());
    const auto ns = client6(kSvc6A, 0).hop_limit(255).payload(target).icmp6(135, 0);
    Expect e;
    e.events = std::map<std::uint32_t, std::uint64_t>{};
    f.push_back({"v6_neighbour_solicitation_untouched",
                 {{Hook::kXdp, ns, kXdpPass, std::nullopt, e},
                  {Hook::kTc, ns, kTcOk, std::nullopt, e}}});
  }
  {
    // Fragments of one datagram follow the first.
    const std::vector<std::uint8_t> data(64, 3);
    const auto whole = client6(kSvc6A, 53).payload(data).udp();
    const auto want_whole = to_sandbox(client6(kSvc6A, 53).payload(data), kTargetUdp).udp();
    const auto first = ipv6_fragment(whole, 0, 40, true, 0x1234);
    const auto last = ipv6_fragment(whole, 40, 32, false, 0x1234);
    const auto first_want = ipv6_fragment(want_whole, 0, 40, true, 0x1234);
    const auto last_want = ipv6_fragment(want_whole, 40, 32, false, 0x1234);
    f.push_back({"v6_udp_fragments_reach_the_same_backend",
                 {{Hook::kXdp, first, kXdpRedirect, first_want,
                   forwarded(kFe6AUdp, kBeSandbox, first.size(), true)},
                  {Hook::kXdp, last, kXdpRedirect, last_want,
                   forwarded(kFe6AUdp, kBeSandbox, last.size(), false)}}});
    f.push_back({"v6_later_fragment_without_first_to_service_dropped",
                 {{Hook::kXdp, last, kXdpDrop, std::nullopt,
                   dropped(PW_DROP_FRAGMENT_UNKNOWN)}}});
    const auto node_whole = client6(kNode6, 22).payload(data).udp();
    f.push_back({"v6_later_fragment_without_first_to_node_passed",
                 {{Hook::kXdp, ipv6_fragment(node_whole, 40, 32, false, 9), kXdpPass,
                   std::nullopt, nothing()}}});
  }
  {
    const auto b = client6(kSvc6A, 80).tcp();
    std::vector<std::uint8_t> cut(b.begin(), b.begin() + 14 + 40 + 10);
    cut[18] = 0;
    cut[19] = 10;
    f.push_back({"v6_tcp_header_cut_to_10_bytes_to_frontend_dropped",
                 {{Hook::kXdp, cut, kXdpDrop, std::nullopt, dropped(PW_DROP_L4_TRUNCATED)}}});
  }
  return f;
}

}  // namespace

// The readiness cached with the IPv6 next hop (pw_nexthop6.flags), as for IPv4
// (lb_fixtures_fastpath.cc): recorded by the first frame, followed at once when the egress
// interface loses PW_IF_XDP_READY (the next frame is handed to tc, not redirected on the
// cached answer), and read from the cache, not pw_interfaces, on a hit.
std::vector<Fixture> readiness6() {
  std::vector<Fixture> f;
  Step open = syn6(kSvc6A, 80, kFe6ATcp);
  open.check = [](LbLab& lab) {
    EXPECT_EQ(lab.maps().all_nexthops6().at(kBeSandbox).flags, PW_NEXTHOP_XDP_READY);
  };
  // No payload: the same length as the SYN, so the cached entry answers (a longer packet would
  // ask the FIB again to check the path's MTU, and the readiness with it).
  const auto ack = client6(kSvc6A, 80).tcp_flags(0x10).tcp_seq(1).tcp_ack(5);
  Step lost{Hook::kXdp, ack.tcp(), kXdpPass, std::nullopt,
            with_events(forwarded(kFe6ATcp, kBeSandbox, ack.tcp().size(), false), {{PW_EV_XDP_TC_HANDOFF, 1}})};
  lost.before = [](LbLab& lab) { lab.set_xdp_ready(false); };
  lost.output_metadata = sizeof(pw_handoff);
  lost.output_for = [ack](LbLab& lab) {
    return handed_off(lab, to_sandbox(ack, kTargetTcp).tcp(), Packet6{ack}.dst(kSandbox6).dst_port(kTargetTcp).tcp());
  };
  lost.check = [](LbLab& lab) { EXPECT_EQ(lab.maps().all_nexthops6().at(kBeSandbox).flags, 0u); };
  f.push_back({"v6_lost_xdp_readiness_is_followed_at_once", {open, lost}});

  // A cache hit needs no pw_interfaces entry for the egress device: deleted behind the
  // controller's back (no clear of the cache), the established frame is still redirected.
  Step hit{Hook::kXdp, ack.tcp(), kXdpRedirect, to_sandbox(ack, kTargetTcp).tcp(),
           with_events(forwarded(kFe6ATcp, kBeSandbox, ack.tcp().size(), false), {{PW_EV_XDP_REDIRECT, 1}})};
  hit.before = [](LbLab& lab) {
    const std::uint32_t veth = lab.host_veth_ifindex();
    ASSERT_EQ(bpf_map_delete_elem(lab.fds().interfaces, &veth), 0);
  };
  f.push_back({"v6_cached_readiness_needs_no_interface_lookup", {syn6(kSvc6A, 80, kFe6ATcp), hit}});
  return f;
}

// pw_tc_uplink on what XDP passed to the stack translated, as for IPv4 (lb_fixtures_delivery.cc):
// forwarded where the kernel has no XDP metadata, left alone otherwise; a frame of another
// client port, or with a hop limit of 1, is the stack's either way.
std::vector<Fixture> tc_uplink6() {
  std::vector<Fixture> f;
  const bool forwards = !loader::xdp_metadata_supported();
  const auto b = client6(kSvc6A, 80);
  Step xdp{Hook::kXdp, b.tcp(), kXdpPass, std::nullopt,
           with_events(forwarded(kFe6ATcp, kBeSandbox, b.tcp().size(), true),
                       {{PW_EV_XDP_TC_HANDOFF, 1}, {PW_EV_FLOW6_INSERTS, 1}})};
  xdp.before = [](LbLab& lab) { lab.set_xdp_ready(false); };
  xdp.output_metadata = sizeof(pw_handoff);
  xdp.output_for = [b](LbLab& lab) {
    return handed_off(lab, to_sandbox(b, kTargetTcp).tcp(), Packet6{b}.dst(kSandbox6).dst_port(kTargetTcp).tcp());
  };
  const auto stack = Packet6{b}.dst(kSandbox6).dst_port(kTargetTcp);
  Step tc{Hook::kTcUplink, Packet6{stack}.tcp(), kTcOk, std::nullopt, with_events({}, {})};
  if (forwards) {
    tc.verdict = kTcRedirect;
    tc.output = to_sandbox(b, kTargetTcp).tcp();
    tc.expect = with_events({}, {{PW_EV_TC_STACK_FORWARD, 1}});
  }
  const Step other_port{Hook::kTcUplink, Packet6{stack}.src_port(40001).tcp(), kTcOk, std::nullopt, with_events({}, {})};
  const Step last_hop{Hook::kTcUplink, Packet6{stack}.hop_limit(1).tcp(), kTcOk, std::nullopt, with_events({}, {})};
  f.push_back({"v6_tc_uplink_forwards_the_stack_frame_of_a_flow", {xdp, tc, other_port, last_hop}});

  // A GRO-merged skb, as for IPv4: each segment (40 + 20 + gso_size) against the largest packet
  // the XDP route accepted, here the first step's 1,440 bytes.
  const auto segment = [](std::size_t payload, std::size_t count) {
    return Packet6{client6(kSvc6A, 80)}.tcp_flags(tcp_flags::kAck).payload(std::vector<std::uint8_t>(payload * count, 0x5a));
  };
  const auto to_backend = [](const Packet6& p) { return Packet6{p}.dst(kSandbox6).dst_port(kTargetTcp).tcp(); };
  const auto first = segment(1380, 1);
  Step xdp_big = xdp;
  xdp_big.input = first.tcp();
  xdp_big.expect = with_events(forwarded(kFe6ATcp, kBeSandbox, first.tcp().size(), true),
                               {{PW_EV_XDP_TC_HANDOFF, 1}, {PW_EV_FLOW6_INSERTS, 1}});
  xdp_big.output_for = [first, to_backend](LbLab& lab) {
    return handed_off(lab, to_sandbox(first, kTargetTcp).tcp(), to_backend(first));
  };
  Step fits{Hook::kTcUplink, to_backend(segment(1380, 2)), kTcOk, std::nullopt, with_events({}, {})};
  fits.gso = Gso{.segments = 2, .size = 1380};
  if (forwards) {
    fits.verdict = kTcRedirect;
    fits.output = to_sandbox(segment(1380, 2), kTargetTcp).tcp();
    fits.expect = with_events({}, {{PW_EV_TC_STACK_FORWARD, 1}});
  }
  Step one_byte_more{Hook::kTcUplink, to_backend(segment(1381, 2)), kTcOk, std::nullopt, with_events({}, {})};
  one_byte_more.gso = Gso{.segments = 2, .size = 1381};
  const Step no_gso{Hook::kTcUplink, to_backend(segment(1380, 2)), kTcOk, std::nullopt, with_events({}, {})};
  f.push_back({"v6_tc_uplink_forwards_a_merged_skb_only_when_its_segments_fit", {xdp_big, fits, one_byte_more, no_gso}});
  return f;
}

std::vector<Fixture> ipv6_fixtures() {
  return concat({semantics6(), repick6(), bad_input6(), readiness6(), tc_uplink6()});
}

}  // namespace portway::test::lb
