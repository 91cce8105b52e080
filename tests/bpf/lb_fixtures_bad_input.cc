// Fixtures for the bad-input catalogue (docs/xdp-dataplane.md "Bad input"), XDP side: each class
// has a defined behaviour (passed untouched, dropped with a reason, or answered) and a counter.
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "lb_fixture.h"
#include "support/packet_edit.h"

namespace portway::test::lb {
namespace {


using Frame = std::vector<std::uint8_t>;

Frame edit(Frame f, const std::function<void(Frame&)>& change) {
  change(f);
  return f;
}

PacketBuilder redirected(PacketBuilder b, const Ipv4Address& backend, std::uint16_t target) {
  return b.dst_ip(backend).dst_port(target).ttl(63).src_mac(kHostVethMac).dst_mac(kSandboxMac);
}

Fixture passes(std::string name, Frame in) {
  return {std::move(name), {{Hook::kXdp, std::move(in), kXdpPass, std::nullopt, nothing()}}};
}

Fixture drops(std::string name, Frame in, std::uint32_t reason) {
  return {std::move(name), {{Hook::kXdp, std::move(in), kXdpDrop, std::nullopt, dropped(reason)}}};
}

// Frame with its IPv4 total length and checksum set (a header that lies about its size).
Frame with_tot_len(Frame f, std::uint16_t tot_len) {
  put_be16(f, kL3Offset + 2, tot_len);
  fix_ipv4_checksum(f);
  return f;
}

// Cuts the IP payload to `l4_len` bytes, fixing tot_len and the header checksum: a datagram
// that is consistent at the IP level but whose L4 header is short.
Frame cut_l4(Frame f, std::size_t l4_len) {
  const std::size_t ihl = static_cast<std::size_t>(f[kL3Offset] & 0x0f) * 4;
  f.resize(kL3Offset + ihl + l4_len);
  return with_tot_len(std::move(f), static_cast<std::uint16_t>(ihl + l4_len));
}

std::vector<Fixture> link_layer() {
  std::vector<Fixture> out;
  out.push_back(passes("arp_frame_untouched", PacketBuilder{}.payload(Frame(28, 1)).ethernet(kEtherTypeArp)));
  out.push_back(passes("ipv6_frame_untouched", PacketBuilder{}.payload(Frame(60, 0x60)).ethernet(kEtherTypeIpv6)));
  out.push_back(passes("vlan_tagged_frame_to_service_untouched", from_client(kSvcA, 80).vlan(100).tcp()));
  out.push_back(passes("vlan_tagged_frame_to_no_backend_untouched", from_client(kSvcB, 53).vlan(7).payload("x").udp()));
  out.push_back(passes("qinq_tagged_frame_untouched", from_client(kSvcA, 80).vlan(5, kEtherTypeQinQ).tcp()));
  out.push_back(passes("ethernet_header_only_untouched", PacketBuilder{}.ethernet(kEtherTypeIpv4)));
  {
    Frame f = from_client(kSvcA, 80).tcp();
    f.resize(kL3Offset + 19);  // one byte short of the addresses
    out.push_back(passes("runt_ipv4_without_full_header_untouched", f));
  }
  {
    Frame f = from_client(kSvcA, 80).tcp();
    f.resize(kL3Offset + 8);
    out.push_back(passes("runt_22_byte_frame_untouched", f));
  }
  out.push_back(passes("non_ip_ethertype_untouched", PacketBuilder{}.payload(Frame(46, 0xaa)).ethernet(0x88cc)));
  return out;
}

std::vector<Fixture> ipv4_header() {
  std::vector<Fixture> out;
  const Frame tcp_a = from_client(kSvcA, 80).tcp();
  const Frame udp_node = from_client(kNode, kNodePortUdp).payload("x").udp();
  out.push_back(drops("ip_version_6_in_ipv4_frame_to_service_dropped",
                      edit(tcp_a, [](Frame& f) { f[kL3Offset] = 0x65; fix_ipv4_checksum(f); }),
                      PW_DROP_IP_BAD_VERSION));
  out.push_back(drops("ihl_4_to_service_dropped",
                      edit(tcp_a, [](Frame& f) { f[kL3Offset] = 0x44; }), PW_DROP_IP_BAD_IHL));
  out.push_back(drops("ihl_0_to_service_dropped",
                      edit(tcp_a, [](Frame& f) { f[kL3Offset] = 0x40; }), PW_DROP_IP_BAD_IHL));
  out.push_back(passes("ihl_4_to_node_address_passed_to_the_kernel",
                       edit(udp_node, [](Frame& f) { f[kL3Offset] = 0x44; })));
  out.push_back(passes("ihl_4_to_other_destination_untouched",
                       edit(from_client(kElsewhere, 80).tcp(), [](Frame& f) { f[kL3Offset] = 0x44; })));
  {
    // IHL 15 announces 60 header bytes; the frame ends after 20.
    Frame f = from_client(kSvcA, 80).tcp();
    f.resize(kL3Offset + 20);
    f = with_tot_len(f, 60);
    f[kL3Offset] = 0x4f;
    out.push_back(drops("ihl_beyond_frame_to_service_dropped", f, PW_DROP_IP_TRUNCATED));
  }
  out.push_back(drops("tot_len_beyond_frame_to_service_dropped",
                      with_tot_len(tcp_a, static_cast<std::uint16_t>(tcp_a.size() - kL3Offset + 1)),
                      PW_DROP_IP_BAD_TOTLEN));
  out.push_back(drops("tot_len_below_header_to_service_dropped", with_tot_len(tcp_a, 19),
                      PW_DROP_IP_BAD_TOTLEN));
  out.push_back(drops("tot_len_zero_to_service_dropped", with_tot_len(tcp_a, 0),
                      PW_DROP_IP_BAD_TOTLEN));
  out.push_back(passes("tot_len_beyond_frame_to_node_address_passed",
                       with_tot_len(udp_node, 1500)));
  {
    // Ethernet pads short frames to 60 bytes: the padding is not part of the datagram and
    // must not be mistaken for one (nor removed).
    const auto b = from_client(kSvcA, 53);
    Frame in = b.udp();
    Frame want = redirected(b, kSandbox, kTargetUdp).udp();
    in.resize(60, 0);
    want.resize(60, 0);
    out.push_back({"ethernet_padding_after_datagram_is_kept",
                   {{Hook::kXdp, in, kXdpRedirect, want, forwarded(kFeAUdp, kBeSandbox, 60, true)}}});
  }
  return out;
}

std::vector<Fixture> ipv4_options() {
  std::vector<Fixture> out;
  const Frame nop_eol{0x01, 0x01, 0x01, 0x00};
  // Record route with room for 9 addresses: 39 bytes + EOL = the 40-byte maximum.
  Frame record_route(40, 0);
  record_route[0] = 7;
  record_route[1] = 39;
  record_route[2] = 4;
  {
    const auto b = from_client(kSvcA, 80).ip_options(nop_eol);
    out.push_back({"ipv4_options_to_service_are_kept_through_translation",
                   {{Hook::kXdp, b.tcp(), kXdpRedirect, redirected(b, kSandbox, kTargetTcp).tcp(),
                     forwarded(kFeATcp, kBeSandbox, b.tcp().size(), true)}}});
  }
  {
    const auto b = from_client(kNode, kNodePortUdp).ip_options(record_route).payload("rr");
    out.push_back({"forty_bytes_of_ipv4_options_to_node_port_translated",
                   {{Hook::kXdp, b.udp(), kXdpRedirect, redirected(b, kSandbox, kTargetUdp).udp(),
                     forwarded(kFeNodeUdp, kBeSandbox, b.udp().size(), true)}}});
  }
  {
    const Frame in = from_client(kSvcB, 80).ip_options(record_route).tcp();
    out.push_back({"reset_to_segment_with_ipv4_options_carries_none",
                   {{Hook::kXdp, in, kXdpTx, expected_rst(in),
                     rejected(PW_DROP_NO_BACKEND, kFeBTcp)}}});
  }
  {
    const Frame in = from_client(kSvcA, 54).ip_options(nop_eol).payload("opt").udp();
    out.push_back({"port_unreachable_quotes_header_with_options",
                   {{Hook::kXdp, in, kXdpTx, expected_icmp(in, 3, 3),
                     rejected(PW_DROP_UNDECLARED_PORT)}}});
  }
  {
    const Frame in = from_client(kSvcB, 53).ip_options(record_route).payload("opt").udp();
    out.push_back({"port_unreachable_quotes_forty_bytes_of_options",
                   {{Hook::kXdp, in, kXdpTx, expected_icmp(in, 3, 3),
                     rejected(PW_DROP_NO_BACKEND, kFeBUdp)}}});
  }
  return out;
}

std::vector<Fixture> ttl() {
  std::vector<Fixture> out;
  for (const std::uint8_t t : {std::uint8_t{1}, std::uint8_t{0}}) {
    const Frame in = from_client(kSvcA, 53).ttl(t).payload("trace").udp();
    out.push_back({"udp_ttl_" + std::to_string(t) + "_to_frontend_gets_time_exceeded",
                   {{Hook::kXdp, in, kXdpTx, expected_icmp(in, 11, 0),
                     dropped(PW_DROP_TTL_EXPIRED)}}});
  }
  {
    const Frame in = from_client(kNode, kNodePortTcp).ttl(1).tcp();
    out.push_back({"tcp_ttl_1_to_node_port_gets_time_exceeded",
                   {{Hook::kXdp, in, kXdpTx, expected_icmp(in, 11, 0),
                     dropped(PW_DROP_TTL_EXPIRED),
                     nullptr, [](LbLab& lab) { EXPECT_TRUE(lab.maps().flows().empty()); }}}});
  }
  out.push_back(passes("ttl_1_to_other_destination_untouched", from_client(kElsewhere, 80).ttl(1).tcp()));
  {
    const Frame in = from_client(kSvcA, 81).ttl(1).tcp();
    out.push_back({"ttl_1_to_undeclared_port_is_still_reset",
                   {{Hook::kXdp, in, kXdpTx, expected_rst(in), rejected(PW_DROP_UNDECLARED_PORT)}}});
  }
  return out;
}

std::vector<Fixture> l4_headers() {
  std::vector<Fixture> out;
  const Frame tcp_a = from_client(kSvcA, 80).payload("0123456789").tcp();
  const Frame udp_a = from_client(kSvcA, 53).payload("0123456789").udp();
  out.push_back(drops("tcp_header_cut_to_10_bytes_to_frontend_dropped", cut_l4(tcp_a, 10),
                      PW_DROP_L4_TRUNCATED));
  out.push_back(drops("tcp_header_cut_to_19_bytes_to_undeclared_port_dropped",
                      cut_l4(from_client(kSvcA, 81).tcp(), 19), PW_DROP_L4_TRUNCATED));
  out.push_back(drops("tcp_header_cut_to_10_bytes_to_node_port_dropped",
                      cut_l4(from_client(kNode, kNodePortTcp).tcp(), 10), PW_DROP_L4_TRUNCATED));
  out.push_back(drops("tcp_without_ports_to_service_dropped", cut_l4(tcp_a, 2),
                      PW_DROP_L4_TRUNCATED));
  out.push_back(passes("tcp_without_ports_to_node_address_passed",
                       cut_l4(from_client(kNode, kNodePortTcp).tcp(), 3)));
  out.push_back(drops("tcp_header_cut_by_frame_not_tot_len_dropped",
                      edit(tcp_a, [](Frame& f) { f.resize(kL3Offset + 20 + 12); }),
                      PW_DROP_IP_BAD_TOTLEN));
  out.push_back(drops("udp_header_cut_to_4_bytes_to_frontend_dropped", cut_l4(udp_a, 4),
                      PW_DROP_L4_TRUNCATED));
  out.push_back(drops("udp_header_cut_to_7_bytes_to_no_backend_dropped",
                      cut_l4(from_client(kSvcB, 53).udp(), 7), PW_DROP_L4_TRUNCATED));
  out.push_back(passes("udp_without_ports_to_node_address_passed",
                       cut_l4(from_client(kNode, kNodePortUdp).udp(), 1)));
  out.push_back(drops("udp_length_beyond_datagram_dropped",
                      edit(udp_a, [](Frame& f) { put_be16(f, kL3Offset + 20 + 4, 19); }),
                      PW_DROP_UDP_BAD_LEN));
  out.push_back(drops("udp_length_below_header_dropped",
                      edit(udp_a, [](Frame& f) { put_be16(f, kL3Offset + 20 + 4, 7); }),
                      PW_DROP_UDP_BAD_LEN));
  out.push_back(drops("tcp_doff_4_dropped",
                      edit(tcp_a, [](Frame& f) { f[kL3Offset + 20 + 12] = 0x40; }),
                      PW_DROP_TCP_BAD_DOFF));
  out.push_back(drops("tcp_doff_0_to_node_port_dropped",
                      edit(from_client(kNode, kNodePortTcp).tcp(),
                           [](Frame& f) { f[kL3Offset + 20 + 12] = 0x00; }),
                      PW_DROP_TCP_BAD_DOFF));
  out.push_back(drops("tcp_doff_beyond_segment_dropped",
                      edit(tcp_a, [](Frame& f) { f[kL3Offset + 20 + 12] = 0xf0; }),
                      PW_DROP_TCP_BAD_DOFF));
  {
    // doff reaches into Ethernet padding: inside the frame, outside the datagram.
    Frame f = from_client(kSvcA, 80).tcp();
    f[kL3Offset + 20 + 12] = 0x60;
    f.resize(60 + 4, 0);
    out.push_back(drops("tcp_doff_into_padding_dropped", f, PW_DROP_TCP_BAD_DOFF));
  }
  {
    const Frame opts{0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07,
                     0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0};
    const auto b = from_client(kSvcA, 80).tcp_options(opts);
    out.push_back({"tcp_options_are_kept_through_translation",
                   {{Hook::kXdp, b.tcp(), kXdpRedirect, redirected(b, kSandbox, kTargetTcp).tcp(),
                     forwarded(kFeATcp, kBeSandbox, b.tcp().size(), true)}}});
  }
  {
    const auto b = from_client(kSvcA, 53).udp_checksum(false).payload("no checksum");
    out.push_back({"udp_checksum_zero_stays_zero_through_translation",
                   {{Hook::kXdp, b.udp(), kXdpRedirect, redirected(b, kSandbox, kTargetUdp).udp(),
                     forwarded(kFeAUdp, kBeSandbox, b.udp().size(), true)}}});
  }
  {
    const auto b = from_client(kNode, kNodePortUdp).udp_checksum(false).payload("nc");
    out.push_back({"udp_checksum_zero_to_node_port_stays_zero",
                   {{Hook::kXdp, b.udp(), kXdpRedirect, redirected(b, kSandbox, kTargetUdp).udp(),
                     forwarded(kFeNodeUdp, kBeSandbox, b.udp().size(), true)}}});
  }
  out.push_back(drops("destination_port_0_to_service_dropped", from_client(kSvcA, 0).tcp(),
                      PW_DROP_PORT_ZERO));
  out.push_back(drops("destination_port_0_udp_to_service_dropped",
                      from_client(kSvcB, 0).payload("z").udp(), PW_DROP_PORT_ZERO));
  out.push_back(drops("source_port_0_to_frontend_dropped",
                      from_client(kSvcA, 80).src_port(0).tcp(), PW_DROP_PORT_ZERO));
  out.push_back(drops("source_port_0_to_node_port_dropped",
                      from_client(kNode, kNodePortUdp).src_port(0).payload("z").udp(),
                      PW_DROP_PORT_ZERO));
  out.push_back(drops("source_port_0_to_undeclared_port_dropped",
                      from_client(kSvcA, 81).src_port(0).tcp(), PW_DROP_PORT_ZERO));
  out.push_back(passes("destination_port_0_to_node_address_passed", from_client(kNode, 0).tcp()));
  return out;
}

std::vector<Fixture> oversize() {
  std::vector<Fixture> out;
  {
    // 1200 bytes with DF towards a backend behind an MTU 1000 route.
    const Frame in = from_client(kSvcD, 9000).payload(Frame(1200 - 28, 0x33)).udp();
    out.push_back({"udp_with_df_above_path_mtu_gets_frag_needed",
                   {{Hook::kXdp, in, kXdpTx, expected_icmp(in, 3, 4, kSmallMtu),
                     dropped(PW_DROP_OVERSIZE)}}});
  }
  {
    const Frame in = from_client(kSvcD, 9000).tcp_flags(tcp_flags::kAck)
                         .payload(Frame(1400, 0x44)).tcp();
    out.push_back({"tcp_with_df_above_path_mtu_gets_frag_needed",
                   {{Hook::kXdp, in, kXdpTx, expected_icmp(in, 3, 4, kSmallMtu),
                     dropped(PW_DROP_OVERSIZE)}}});
  }
  {
    // Without DF the stack may fragment: translated, then handed to it (TTL untouched).
    const auto b = from_client(kSvcD, 9000).dont_fragment(false).payload(Frame(1200, 0x55));
    out.push_back({"udp_without_df_above_path_mtu_is_translated_for_the_stack",
                   {{Hook::kXdp, b.udp(), kXdpPass,
                     PacketBuilder{b}.dst_ip(kSmallMtuBackend).dst_port(9000).udp(),
                     forwarded(kFeDUdp, kBeSmallMtu, b.udp().size(), true)}}});
  }
  {
    // 9000 bytes: BPF_PROG_TEST_RUN hands the program a multi-buffer frame (linear head +
    // frags), as a jumbo-MTU uplink would.
    const auto b = from_client(kSvcE, 53).dont_fragment(false).payload(Frame(9000 - 42, 0x66));
    out.push_back({"jumbo_frame_without_df_is_translated_whole",
                   {{Hook::kXdp, b.udp(), kXdpPass,
                     PacketBuilder{b}.dst_ip(kNoNeighBackend).dst_port(kTargetUdp).udp(),
                     forwarded(kFeEUdp, kBeNoNeigh, 9000, true)}}});
  }
  {
    const Frame in = from_client(kSvcA, 53).payload(Frame(9000 - 42, 0x77)).udp();
    out.push_back({"jumbo_frame_with_df_gets_frag_needed_for_veth_mtu",
                   {{Hook::kXdp, in, kXdpTx, expected_icmp(in, 3, 4, 1500),
                     dropped(PW_DROP_OVERSIZE)}}});
  }
  {
    // A small packet fills the next-hop cache; a bigger one must still meet the FIB's MTU
    // check instead of riding on the cached answer.
    const auto small = from_client(kSvcD, 9000).payload("s");
    const Frame big = from_client(kSvcD, 9000).payload(Frame(1100, 0x21)).udp();
    out.push_back({"cached_next_hop_does_not_skip_the_mtu_check",
                   {{Hook::kXdp, small.udp(), kXdpRedirect,
                     PacketBuilder{small}.dst_ip(kSmallMtuBackend).ttl(63).src_mac(kHostVethMac)
                         .dst_mac(kSmallMtuMac).udp(),
                     forwarded(kFeDUdp, kBeSmallMtu, small.udp().size(), true)},
                    {Hook::kXdp, big, kXdpTx, expected_icmp(big, 3, 4, kSmallMtu),
                     dropped(PW_DROP_OVERSIZE)}}});
  }
  out.push_back(passes("jumbo_frame_to_other_destination_untouched",
                       from_client(kElsewhere, 53).payload(Frame(9000 - 42, 0x88)).udp()));
  return out;
}

}  // namespace

std::vector<Fixture> bad_input_fixtures() {
  return concat({link_layer(), ipv4_header(), ipv4_options(), ttl(), l4_headers(), oversize()});
}

}  // namespace portway::test::lb
