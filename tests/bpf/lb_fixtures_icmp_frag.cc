// Fixtures for ICMP errors about translated flows and for IPv4 fragments (XDP side).
#include <string>

#include <gtest/gtest.h>

#include "lb_fixture.h"
#include "support/packet_edit.h"

namespace portway::test::lb {
namespace {

using Frame = std::vector<std::uint8_t>;

inline constexpr Ipv4Address kRouter{198, 18, 0, 254};

// A router on the client's path reports about a packet the frontend sent (a reply).
PacketBuilder router_error(const Ipv4Address& to, const Frame& quote) {
  return PacketBuilder{}
      .src_mac(kClientMac)
      .dst_mac(kNodeMac)
      .src_ip(kRouter)
      .dst_ip(to)
      .dont_fragment(false)
      .payload(quote);
}

// The same error once translated: to the backend, redirected to it.
PacketBuilder router_error_at_backend(const Frame& quote) {
  return PacketBuilder{}
      .src_mac(kHostVethMac)
      .dst_mac(kSandboxMac)
      .src_ip(kRouter)
      .dst_ip(kSandbox)
      .dont_fragment(false)
      .ttl(63)
      .payload(quote);
}

// A reply from `src`:`sport` to the client, as the client side sees it.
PacketBuilder reply(const Ipv4Address& src, std::uint16_t sport) {
  return PacketBuilder{}.src_ip(src).dst_ip(kClient).src_port(sport).dst_port(40000);
}

std::vector<Fixture> icmp_rows() {
  std::vector<Fixture> out;
  const auto synack = [](const Ipv4Address& src, std::uint16_t sport) {
    return reply(src, sport).tcp_flags(tcp_flags::kSyn | tcp_flags::kAck).tcp_seq(7).tcp_ack(2)
        .tcp();
  };
  // (name, error type/code/rest, quoted bytes of the TCP header)
  struct Case {
    const char* name;
    std::uint8_t type;
    std::uint8_t code;
    std::uint32_t rest;
    std::size_t l4_quote;
  };
  for (const Case c : {Case{"frag_needed_about_reply_is_translated_to_backend", 3, 4, 1400, 8},
                       Case{"frag_needed_with_long_quote_fixes_quoted_tcp_checksum", 3, 4, 1280, 20},
                       Case{"time_exceeded_about_reply_is_translated_to_backend", 11, 0, 0, 8},
                       Case{"host_unreachable_about_reply_is_translated_to_backend", 3, 1, 0, 20},
                       Case{"parameter_problem_about_reply_is_translated_to_backend", 12, 0,
                            0x14000000, 8}}) {
    const Frame quote = slice(synack(kSvcA, 80), 14, 20 + c.l4_quote);
    const Frame quote_at_backend = slice(synack(kSandbox, kTargetTcp), 14, 20 + c.l4_quote);
    const Frame in = router_error(kSvcA, quote).icmp(c.type, c.code, c.rest);
    out.push_back({c.name,
                   {xdp_syn(kSvcA, 80, kFeATcp),
                    {Hook::kXdp, in, kXdpRedirect,
                     router_error_at_backend(quote_at_backend).icmp(c.type, c.code, c.rest),
                     forwarded(kFeATcp, kBeSandbox, in.size(), false)}}});
  }
  {
    const Frame quote = slice(reply(kSvcA, 53).payload("answer").udp(), 14, 28);
    const Frame quote_b = slice(reply(kSandbox, kTargetUdp).payload("answer").udp(), 14, 28);
    const Frame in = router_error(kSvcA, quote).icmp(3, 3);
    out.push_back({"port_unreachable_about_udp_reply_fixes_quoted_udp_checksum",
                   {xdp_udp(kSvcA, 53, kFeAUdp),
                    {Hook::kXdp, in, kXdpRedirect, router_error_at_backend(quote_b).icmp(3, 3),
                     forwarded(kFeAUdp, kBeSandbox, in.size(), false)}}});
  }
  {
    const Frame quote = slice(reply(kSvcA, 53).udp_checksum(false).payload("a").udp(), 14, 28);
    const Frame quote_b =
        slice(reply(kSandbox, kTargetUdp).udp_checksum(false).payload("a").udp(), 14, 28);
    const Frame in = router_error(kSvcA, quote).icmp(3, 3);
    out.push_back({"error_about_udp_reply_without_checksum_keeps_it_zero",
                   {xdp_udp(kSvcA, 53, kFeAUdp),
                    {Hook::kXdp, in, kXdpRedirect, router_error_at_backend(quote_b).icmp(3, 3),
                     forwarded(kFeAUdp, kBeSandbox, in.size(), false)}}});
  }
  {
    const Frame quote = slice(synack(kNode, kNodePortTcp), 14, 28);
    const Frame quote_b = slice(synack(kSandbox, kTargetTcp), 14, 28);
    const Frame in = router_error(kNode, quote).icmp(3, 4, 1400);
    out.push_back({"frag_needed_about_node_port_reply_is_translated_to_backend",
                   {xdp_syn(kNode, kNodePortTcp, kFeNodeTcp),
                    {Hook::kXdp, in, kXdpRedirect,
                     router_error_at_backend(quote_b).icmp(3, 4, 1400),
                     forwarded(kFeNodeTcp, kBeSandbox, in.size(), false)}}});
  }
  const Frame synack_a = synack(kSvcA, 80);
  out.push_back({"error_with_quote_of_ip_header_only_to_service_dropped",
                 {xdp_syn(kSvcA, 80, kFeATcp),
                  {Hook::kXdp, router_error(kSvcA, slice(synack_a, 14, 20)).icmp(3, 4, 1400),
                   kXdpDrop, std::nullopt, dropped(PW_DROP_ICMP_TRUNCATED)}}});
  out.push_back({"error_with_quote_of_4_port_bytes_to_service_dropped",
                 {{Hook::kXdp, router_error(kSvcA, slice(synack_a, 14, 24)).icmp(11, 0),
                   kXdpDrop, std::nullopt, dropped(PW_DROP_ICMP_TRUNCATED)}}});
  {
    Frame bad = slice(synack_a, 14, 28);
    bad[0] = 0x44;  // quoted IHL 4
    out.push_back({"error_with_quoted_ihl_4_to_service_dropped",
                   {{Hook::kXdp, router_error(kSvcA, bad).icmp(3, 3), kXdpDrop, std::nullopt,
                     dropped(PW_DROP_ICMP_TRUNCATED)}}});
  }
  {
    Frame bad = slice(synack_a, 14, 28);
    bad[0] = 0x4f;  // quoted IHL 15: options run past the quote
    out.push_back({"error_with_quoted_options_beyond_quote_to_service_dropped",
                   {{Hook::kXdp, router_error(kSvcA, bad).icmp(3, 3), kXdpDrop, std::nullopt,
                     dropped(PW_DROP_ICMP_TRUNCATED)}}});
  }
  out.push_back({"error_with_short_quote_to_node_address_passed",
                 {{Hook::kXdp,
                   router_error(kNode, slice(synack(kNode, kNodePortTcp), 14, 20)).icmp(3, 4, 1400),
                   kXdpPass, std::nullopt, nothing()}}});
  out.push_back({"error_about_unknown_flow_passed",
                 {{Hook::kXdp, router_error(kSvcA, slice(synack_a, 14, 28)).icmp(3, 4, 1400),
                   kXdpPass, std::nullopt, nothing()}}});
  out.push_back({"error_whose_quote_is_not_from_the_frontend_passed",
                 {xdp_syn(kSvcA, 80, kFeATcp),
                  {Hook::kXdp,
                   router_error(kSvcA, slice(synack(kSvcC, 80), 14, 28)).icmp(3, 4, 1400),
                   kXdpPass, std::nullopt, nothing()}}});
  out.push_back({"error_about_ping_passed",
                 {{Hook::kXdp,
                   router_error(kSvcA,
                                slice(reply(kSvcA, 0).payload("pingpong").icmp(8, 0, 1), 14, 28))
                       .icmp(11, 0),
                   kXdpPass, std::nullopt, nothing()}}});
  out.push_back({"error_with_ttl_1_about_translated_flow_dropped",
                 {xdp_syn(kSvcA, 80, kFeATcp),
                  {Hook::kXdp,
                   router_error(kSvcA, slice(synack_a, 14, 28)).ttl(1).icmp(3, 4, 1400),
                   kXdpDrop, std::nullopt, dropped(PW_DROP_TTL_EXPIRED)}}});
  {
    // A fragmented ICMP error is nothing a router sends; it is left alone.
    const Frame whole = router_error(kSvcA, slice(synack_a, 14, 28)).icmp(3, 4, 1400);
    out.push_back({"fragmented_icmp_error_passed",
                   {xdp_syn(kSvcA, 80, kFeATcp),
                    {Hook::kXdp, ipv4_fragment(whole, 0, 24, true), kXdpPass, std::nullopt,
                     nothing()}}});
  }
  return out;
}

struct Datagram {
  Frame in;
  Frame want;  // translated and redirected
};

Datagram udp_datagram(std::uint16_t id, std::uint8_t ttl = 64) {
  const auto b = from_client(kSvcA, 53).dont_fragment(false).ip_id(id).ttl(ttl)
                     .payload(Frame(100, 0x5a));
  return {b.udp(), PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetUdp).ttl(static_cast<std::uint8_t>(ttl - 1))
                       .src_mac(kHostVethMac).dst_mac(kSandboxMac).udp()};
}

Step frag_step(const Datagram& d, std::size_t off, std::size_t len, bool more, bool new_flow,
               std::uint32_t fe = kFeAUdp) {
  const Frame in = ipv4_fragment(d.in, off, len, more);
  return {Hook::kXdp, in, kXdpRedirect, ipv4_fragment(d.want, off, len, more),
          forwarded(fe, kBeSandbox, in.size(), new_flow)};
}

std::vector<Fixture> fragment_rows() {
  std::vector<Fixture> out;
  const Datagram d = udp_datagram(0x4242);  // IP payload: 8 + 100 bytes
  out.push_back({"udp_fragments_first_middle_last_reach_the_same_backend",
                 {frag_step(d, 0, 48, true, true), frag_step(d, 48, 32, true, false),
                  frag_step(d, 80, 28, false, false,
                            kFeAUdp)}});
  {
    const auto b = from_client(kSvcA, 80).dont_fragment(false).ip_id(0x99).tcp_flags(
        tcp_flags::kAck).payload(Frame(60, 0x11));
    const Datagram t{b.tcp(), PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetTcp).ttl(63)
                                  .src_mac(kHostVethMac).dst_mac(kSandboxMac).tcp()};
    out.push_back({"tcp_fragments_reach_the_same_backend",
                   {frag_step(t, 0, 24, true, true, kFeATcp),
                    frag_step(t, 24, 56, false, false, kFeATcp)}});
    out.push_back({"tiny_first_tcp_fragment_dropped",
                   {{Hook::kXdp, ipv4_fragment(t.in, 0, 16, true), kXdpDrop, std::nullopt,
                     dropped(PW_DROP_L4_TRUNCATED)}}});
  }
  out.push_back({"later_fragment_without_first_to_service_dropped",
                 {{Hook::kXdp, ipv4_fragment(d.in, 48, 32, true), kXdpDrop, std::nullopt,
                   dropped(PW_DROP_FRAGMENT_UNKNOWN)}}});
  out.push_back({"last_fragment_without_first_to_service_dropped",
                 {{Hook::kXdp, ipv4_fragment(d.in, 80, 28, false), kXdpDrop, std::nullopt,
                   dropped(PW_DROP_FRAGMENT_UNKNOWN)}}});
  {
    const auto b = from_client(kNode, kNodePortUdp).dont_fragment(false).ip_id(7)
                       .payload(Frame(40, 1));
    out.push_back({"later_fragment_without_first_to_node_address_passed",
                   {{Hook::kXdp, ipv4_fragment(b.udp(), 24, 24, false), kXdpPass, std::nullopt,
                     nothing()}}});
  }
  out.push_back({"fragment_before_its_first_is_dropped_the_rest_follow",
                 {{Hook::kXdp, ipv4_fragment(d.in, 48, 32, true), kXdpDrop, std::nullopt,
                   dropped(PW_DROP_FRAGMENT_UNKNOWN)},
                  frag_step(d, 0, 48, true, true), frag_step(d, 80, 28, false, false)}});
  out.push_back({"overlapping_fragment_follows_its_datagram",
                 {frag_step(d, 0, 48, true, true), frag_step(d, 40, 24, true, false),
                  frag_step(d, 48, 60, false, false)}});
  out.push_back({"duplicate_first_fragment_goes_to_the_same_backend",
                 {frag_step(d, 0, 48, true, true), frag_step(d, 0, 48, true, false)}});
  {
    const Datagram low_ttl = udp_datagram(0x4242, 1);
    out.push_back({"later_fragment_with_ttl_1_dropped",
                   {frag_step(d, 0, 48, true, true),
                    {Hook::kXdp, ipv4_fragment(low_ttl.in, 48, 32, true), kXdpDrop, std::nullopt,
                     dropped(PW_DROP_TTL_EXPIRED)}}});
  }
  {
    // Two datagrams to a four-backend service, interleaved: each follows its own first.
    std::uint16_t sport_a = 41000;
    std::uint16_t sport_b = 41001;
    const auto pick = [](std::uint16_t s) {
      return predict_pick(table_c(), kClient, kSvcC, s, 53, 17);
    };
    while (pick(sport_b) == pick(sport_a)) {
      ++sport_b;
    }
    const auto datagram = [](std::uint16_t sport, std::uint16_t id, std::uint32_t be) {
      const auto b = from_client(kSvcC, 53).src_port(sport).dont_fragment(false).ip_id(id)
                         .payload(Frame(64, static_cast<std::uint8_t>(id)));
      return Datagram{b.udp(), PacketBuilder{b}.dst_ip(backend_c_addr(be - kBeC0))
                                   .dst_port(kTargetUdp).udp()};
    };
    const std::uint32_t be_a = pick(sport_a);
    const std::uint32_t be_b = pick(sport_b);
    const Datagram a = datagram(sport_a, 0x0a0a, be_a);
    const Datagram b = datagram(sport_b, 0x0b0b, be_b);
    const auto step = [](const Datagram& dg, std::size_t off, std::size_t len, bool more,
                         bool new_flow, std::uint32_t be) {
      const Frame in = ipv4_fragment(dg.in, off, len, more);
      return Step{Hook::kXdp, in, kXdpPass, ipv4_fragment(dg.want, off, len, more),
                  forwarded(kFeCUdp, be, in.size(), new_flow)};
    };
    out.push_back({"interleaved_datagrams_keep_their_own_backends",
                   {step(a, 0, 40, true, true, be_a), step(b, 0, 40, true, true, be_b),
                    step(b, 40, 32, false, false, be_b), step(a, 40, 32, false, false, be_a)}});
  }
  {
    const Frame gre = from_client(kSvcA, 0).dont_fragment(false).ip_id(3)
                          .payload(Frame(64, 0x47)).ip(kGre);
    out.push_back({"later_fragment_of_other_protocol_to_service_passed",
                   {{Hook::kXdp, ipv4_fragment(gre, 32, 32, false), kXdpPass, std::nullopt,
                     nothing()}}});
  }
  return out;
}

}  // namespace

std::vector<Fixture> icmp_fragment_fixtures() {
  std::vector<Fixture> out = icmp_rows();
  const auto frags = fragment_rows();
  out.insert(out.end(), frags.begin(), frags.end());
  return out;
}

}  // namespace portway::test::lb
