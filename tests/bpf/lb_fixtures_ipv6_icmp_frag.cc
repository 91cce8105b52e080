// IPv6 ICMP errors whose quote carries extension headers, and fragmented replies through the
// tc program (docs/xdp-dataplane.md "IPv6"): the IPv6 forms of lb_fixtures_icmp_frag.cc and of
// the fragment row of lb_fixtures_tc.cc.
#include <gtest/gtest.h>

#include <vector>

#include "lb_fixture6.h"

namespace portway::test::lb {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint8_t kPacketTooBig = 2;
constexpr std::uint8_t kDestUnreach = 1;
constexpr std::uint8_t kPortUnreach = 4;
constexpr std::uint32_t kPtbMtu = 1400;
const Ipv6Address kRouter6 = lab6(0, 0x99);

Bytes slice(const Bytes& b, std::size_t from, std::size_t len) {
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(from),
               b.begin() + static_cast<std::ptrdiff_t>(from + len));
}

// A reply of flow kClient6:40000 -> kSvc6A:80 as it left the node (frontend as source) and as
// the backend sent it, with `ext` applied to both (extension headers under test).
template <typename Ext>
std::pair<Packet6, Packet6> reply_pair(Ext ext) {
  Packet6 out = Packet6{}.src(kSvc6A).dst(kClient6).src_port(80).dst_port(40000)
                    .tcp_flags(0x10).hop_limit(63);
  Packet6 sent = Packet6{}.src(kSandbox6).dst(kClient6).src_port(kTargetTcp).dst_port(40000)
                     .tcp_flags(0x10).hop_limit(63);
  return {ext(out), ext(sent)};
}

// A router's error about a reply (to the frontend) and what XDP makes of it: to the backend,
// the quote translated back. `quote_len` bytes of the IPv6 packet are quoted.
Step error_about_reply(const Bytes& reply_out, const Bytes& reply_sent, std::size_t quote_len,
                       std::uint8_t type, std::uint8_t code, std::uint32_t rest) {
  const auto err = Packet6{}.src(kRouter6).dst(kSvc6A).payload(slice(reply_out, 14, quote_len));
  const auto want = Packet6{err}.dst(kSandbox6).payload(slice(reply_sent, 14, quote_len))
                        .hop_limit(63).src_mac(kHostVethMac).dst_mac(kSandboxMac);
  const Bytes in = err.icmp6(type, code, rest);
  return {Hook::kXdp, in, kXdpRedirect, want.icmp6(type, code, rest),
          forwarded(kFe6ATcp, kBeSandbox, in.size(), false)};
}

std::vector<Fixture> quotes_from_outside() {
  std::vector<Fixture> f;
  {
    // Hop-by-hop and destination options in the quote: walked, then the TCP header (checksum
    // included) translated back.
    const auto [out, sent] = reply_pair([](Packet6 p) { return p.hop_by_hop().dest_opts(); });
    f.push_back({"v6_packet_too_big_quoting_extension_headers_goes_to_the_backend",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  error_about_reply(out.tcp(), sent.tcp(), 40 + 16 + 20, kPacketTooBig, 0,
                                    kPtbMtu)}});
    // Only the ports of the quoted TCP header: still translated (no checksum to fix).
    f.push_back({"v6_unreachable_quoting_extension_headers_and_8_bytes_goes_to_the_backend",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  error_about_reply(out.tcp(), sent.tcp(), 40 + 16 + 8, kDestUnreach, 0, 0)}});
  }
  {
    // The reply was the first fragment of a datagram: the quote has a fragment header.
    const auto [out, sent] = reply_pair([](Packet6 p) { return p.payload(Bytes(64, 5)); });
    const Bytes out_first = ipv6_fragment(out.tcp(), 0, 48, true, 0x51);
    const Bytes sent_first = ipv6_fragment(sent.tcp(), 0, 48, true, 0x51);
    f.push_back({"v6_packet_too_big_quoting_a_first_fragment_goes_to_the_backend",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  error_about_reply(out_first, sent_first, 40 + 8 + 20, kPacketTooBig, 0,
                                    kPtbMtu)}});
    // A later fragment has no ports: nothing to match a flow with, passed.
    const Bytes later = ipv6_fragment(out.tcp(), 48, 36, false, 0x51);
    const auto err = Packet6{}.src(kRouter6).dst(kSvc6A).payload(slice(later, 14, 40 + 8 + 16));
    f.push_back({"v6_error_quoting_a_later_fragment_passed",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  {Hook::kXdp, err.icmp6(kDestUnreach, 0), kXdpPass, std::nullopt, nothing()}}});
  }
  {
    // The quote ends inside its destination options (16 bytes announced, 12 quoted): a cut
    // quote. Packet too big still goes to the kernel; other errors to a service address are
    // dropped, as for any cut quote.
    const auto [out, sent] = reply_pair([](Packet6 p) {
      return p.ext(kNextDest, {1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    });
    (void)sent;
    const auto cut = Packet6{}.src(kRouter6).dst(kSvc6A).payload(slice(out.tcp(), 14, 40 + 12));
    f.push_back({"v6_packet_too_big_whose_quote_ends_in_an_extension_header_passed",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  {Hook::kXdp, cut.icmp6(kPacketTooBig, 0, kPtbMtu), kXdpPass, std::nullopt,
                   nothing()}}});
    f.push_back({"v6_unreachable_whose_quote_ends_in_an_extension_header_dropped",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  {Hook::kXdp, cut.icmp6(kDestUnreach, 0), kXdpDrop, std::nullopt,
                   dropped(PW_DROP_ICMP_TRUNCATED)}}});
    // The header is whole but the quote ends before the ports.
    const auto no_ports =
        Packet6{}.src(kRouter6).dst(kSvc6A).payload(slice(out.tcp(), 14, 40 + 16 + 4));
    f.push_back({"v6_packet_too_big_whose_quote_ends_before_the_ports_passed",
                 {syn6(kSvc6A, 80, kFe6ATcp),
                  {Hook::kXdp, no_ports.icmp6(kPacketTooBig, 0, kPtbMtu), kXdpPass, std::nullopt,
                   nothing()}}});
  }
  return f;
}

Step udp6(const Ipv6Address& dst, std::uint16_t port, std::uint32_t fe) {
  const auto b = client6(dst, port).payload("query");
  return {Hook::kXdp, b.udp(), kXdpRedirect, to_sandbox(b, kTargetUdp).udp(),
          forwarded(fe, kBeSandbox, b.udp().size(), true)};
}

// Leaving the sandbox: kSandboxMac -> kHostVethMac.
Packet6 from_sandbox6() {
  return Packet6{}.src_mac(kSandboxMac).dst_mac(kHostVethMac).src(kSandbox6).dst(kClient6);
}

// What tc sends to the client for a reply of the flow to kSvc6A.
Packet6 at_client6(Packet6 p) { return p.src_mac(kNodeMac).dst_mac(kClientMac).hop_limit(63); }

std::vector<Fixture> from_the_backend() {
  std::vector<Fixture> f;
  // The backend's port unreachable about the client's datagram (as the backend got it): the
  // client must see it from the service, about the service, with or without extension headers
  // in the datagram.
  for (const bool with_ext : {false, true}) {
    auto datagram = [with_ext](Packet6 p) {
      p = p.src(kClient6).src_port(40000).hop_limit(63).payload("query");
      return with_ext ? p.dest_opts() : p;
    };
    const Bytes seen = datagram(Packet6{}.dst(kSandbox6).dst_port(kTargetUdp)).udp();
    const Bytes as_sent = datagram(Packet6{}.dst(kSvc6A).dst_port(53)).udp();
    const std::size_t len = seen.size() - 14;
    const auto err = from_sandbox6().payload(slice(seen, 14, len));
    const auto want = at_client6(Packet6{err}.src(kSvc6A).payload(slice(as_sent, 14, len)));
    f.push_back({with_ext ? "v6_backend_port_unreachable_quoting_extension_headers_reaches_client_as_the_service"
                          : "v6_backend_port_unreachable_reaches_client_as_the_service",
                 {udp6(kSvc6A, 53, kFe6AUdp),
                  {Hook::kTc, err.icmp6(kDestUnreach, kPortUnreach), kTcRedirect,
                   want.icmp6(kDestUnreach, kPortUnreach), nothing()}}});
  }
  {
    // A big reply fragmented by the sandbox: the later fragments have no ports, but the same
    // source rewrite.
    const Bytes data(100, 0x3c);
    const Bytes whole = from_sandbox6().src_port(kTargetUdp).dst_port(40000).payload(data).udp();
    const Bytes want = at_client6(from_sandbox6().src(kSvc6A).src_port(53).dst_port(40000)
                                      .payload(data)).udp();
    f.push_back({"v6_reply_fragments_all_leave_from_the_service",
                 {udp6(kSvc6A, 53, kFe6AUdp),
                  {Hook::kTc, ipv6_fragment(whole, 0, 56, true, 0x777), kTcRedirect,
                   ipv6_fragment(want, 0, 56, true, 0x777), nothing()},
                  {Hook::kTc, ipv6_fragment(whole, 56, 52, false, 0x777), kTcRedirect,
                   ipv6_fragment(want, 56, 52, false, 0x777), nothing()}}});
    // Without the first fragment, a later one is not known as a reply: left to the stack.
    f.push_back({"v6_reply_later_fragment_without_its_first_untouched",
                 {udp6(kSvc6A, 53, kFe6AUdp),
                  {Hook::kTc, ipv6_fragment(whole, 56, 52, false, 0x778), kTcOk, std::nullopt,
                   nothing()}}});
  }
  return f;
}

}  // namespace

std::vector<Fixture> ipv6_icmp_fragment_fixtures() {
  return concat({quotes_from_outside(), from_the_backend()});
}

}  // namespace portway::test::lb
