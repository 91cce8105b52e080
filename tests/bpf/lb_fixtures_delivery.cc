// Fixtures for what the uplink program takes (frames addressed to the node at L2) and how it
// delivers (redirect into an xdp-ready interface, hand-off to tc, the stack), with the events
// they count (docs/xdp-dataplane.md, "Delivery").
#include <algorithm>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <bpf/bpf.h>

#include "lb_fixture.h"
#include "loader/xdp_features.h"

namespace portway::test::lb {
namespace {

using Events = std::map<std::uint32_t, std::uint64_t>;

constexpr MacAddress kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr MacAddress kMulticastMac{0x01, 0x00, 0x5e, 0x13, 0x01, 0x01};  // IPv4 multicast
constexpr MacAddress kNodeMacOtherByte{0x02, 0x00, 0x00, 0x00, 0x01, 0x02};  // one byte off

// The client frame once translated to kSandbox:target and rewritten for pwbk0.
PacketBuilder to_sandbox(PacketBuilder b, std::uint16_t target) {
  return b.dst_ip(kSandbox).dst_port(target).ttl(63).src_mac(kHostVethMac).dst_mac(kSandboxMac);
}

void expect_no_flows(LbLab& lab) { EXPECT_TRUE(lab.maps().flows().empty()) << "a flow was recorded"; }

std::vector<Fixture> l2_rows() {
  std::vector<Fixture> out;
  // Neither translated nor recorded: the stack sees the frame exactly as sent.
  struct Row {
    const char* name;
    MacAddress dst;
    Ipv4Address to;
    std::uint16_t port;
    bool udp;
    std::uint32_t event;
  };
  const Row rows[] = {
      {"foreign_unicast_mac_to_service_untouched", kOtherHostMac, kSvcA, 80, false, PW_EV_L2_OTHER_HOST},
      {"foreign_unicast_mac_to_node_port_untouched", kOtherHostMac, kNode, kNodePortUdp, true, PW_EV_L2_OTHER_HOST},
      {"mac_one_byte_off_the_node_untouched", kNodeMacOtherByte, kSvcA, 53, true, PW_EV_L2_OTHER_HOST},
      {"broadcast_mac_to_node_port_untouched", kBroadcastMac, kNode, kNodePortUdp, true, PW_EV_L2_MULTICAST},
      {"broadcast_mac_to_service_untouched", kBroadcastMac, kSvcA, 80, false, PW_EV_L2_MULTICAST},
      {"multicast_mac_to_service_untouched", kMulticastMac, kSvcA, 53, true, PW_EV_L2_MULTICAST},
  };
  for (const Row& r : rows) {
    auto b = from_client(r.to, r.port).dst_mac(r.dst);
    const auto in = r.udp ? b.payload("query").udp() : b.tcp();
    Step s{Hook::kXdp, in, kXdpPass, std::nullopt, with_events({}, {{r.event, 1}})};
    s.check = expect_no_flows;
    out.push_back({r.name, {s}});
  }
  {
    // The uplink's entry is missing (never written, or removed): nothing is taken.
    const auto in = from_client(kSvcA, 80).tcp();
    Step s{Hook::kXdp, in, kXdpPass, std::nullopt, with_events({}, {{PW_EV_L2_UNKNOWN_UPLINK, 1}})};
    s.before = [](LbLab& lab) { ASSERT_TRUE(lab.maps().erase_interface(lab.uplink_ifindex())); };
    s.check = expect_no_flows;
    out.push_back({"frame_on_an_unregistered_uplink_untouched", {s}});
  }
  // A client's SYN to service A, taken and redirected to the sandbox as a new flow.
  const auto taken = [] {
    const auto b = from_client(kSvcA, 80);
    const auto in = b.tcp();
    return Step{Hook::kXdp, in, kXdpRedirect, to_sandbox(b, kTargetTcp).tcp(),
                with_events(forwarded(kFeATcp, kBeSandbox, in.size(), true),
                            {{PW_EV_XDP_REDIRECT, 1}, {PW_EV_FLOW_INSERTS, 1}})};
  };
  {
    // The uplink known only to pw_uplinks (its pw_interfaces entry deleted behind the
    // controller's back): still taken, so the program's L2 check reads the array.
    Step s = taken();
    s.before = [](LbLab& lab) {
      const std::uint32_t ifindex = lab.uplink_ifindex();
      ASSERT_EQ(lab.maps().uplink_slot(ifindex).flags, PW_IF_UPLINK);
      ASSERT_EQ(bpf_map_delete_elem(lab.fds().interfaces, &ifindex), 0);
    };
    out.push_back({"uplink_found_in_the_uplink_array", {s}});
  }
  {
    // The uplink known only to pw_interfaces (pins upgraded from layout 2 before the controller
    // filled pw_uplinks): the program falls back to the hash, and takes the node's MAC only.
    Step s = taken();
    s.before = [](LbLab& lab) {
      const std::uint32_t ifindex = lab.uplink_ifindex();
      const pw_interface none{};
      ASSERT_EQ(bpf_map_update_elem(lab.fds().uplinks, &ifindex, &none, BPF_ANY), 0);
    };
    Step foreign{Hook::kXdp, from_client(kSvcA, 80).src_port(40001).dst_mac(kOtherHostMac).tcp(), kXdpPass,
                 std::nullopt, with_events({}, {{PW_EV_L2_OTHER_HOST, 1}})};
    out.push_back({"uplink_found_in_pw_interfaces_without_its_array_slot", {s, foreign}});
  }
  {
    // The node's own MAC: translated as ever, counted as a redirect and a new flow.
    const auto b = from_client(kNode, kNodePortTcp);
    const auto in = b.tcp();
    out.push_back({"node_mac_to_node_port_still_translated",
                   {{Hook::kXdp, in, kXdpRedirect, to_sandbox(b, kTargetTcp).tcp(),
                     with_events(forwarded(kFeNodeTcp, kBeSandbox, in.size(), true),
                                 {{PW_EV_XDP_REDIRECT, 1}, {PW_EV_FLOW_INSERTS, 1}})}}});
  }
  {
    // Changing the recorded MAC (a sync after the uplink's address changed) moves what is taken.
    const auto b = from_client(kSvcA, 80).dst_mac(kOtherHostMac);
    const auto in = b.tcp();
    Step s{Hook::kXdp, in, kXdpRedirect, to_sandbox(b, kTargetTcp).tcp(),
           with_events(forwarded(kFeATcp, kBeSandbox, in.size(), true),
                       {{PW_EV_XDP_REDIRECT, 1}, {PW_EV_FLOW_INSERTS, 1}})};
    s.before = [](LbLab& lab) {
      pw_interface up{};
      std::memcpy(up.mac, kOtherHostMac.data(), kOtherHostMac.size());
      up.flags = PW_IF_UPLINK;
      lab.maps().set_interface(lab.uplink_ifindex(), up);
    };
    Step old_mac{Hook::kXdp, from_client(kSvcA, 80).tcp(), kXdpPass, std::nullopt,
                 with_events({}, {{PW_EV_L2_OTHER_HOST, 1}})};
    out.push_back({"changed_uplink_mac_is_followed", {s, old_mac}});
  }
  return out;
}

std::vector<Fixture> path_rows() {
  std::vector<Fixture> out;
  {
    // pwbk0 not known to take XDP frames: the frame is final, the target rides in the metadata
    // for pw_tc_uplink.
    const auto b = from_client(kSvcA, 80);
    const auto in = b.tcp();
    Step s{Hook::kXdp, in, kXdpPass, std::nullopt,
           with_events(forwarded(kFeATcp, kBeSandbox, in.size(), true),
                       {{PW_EV_XDP_TC_HANDOFF, 1}, {PW_EV_FLOW_INSERTS, 1}})};
    s.before = [](LbLab& lab) { lab.set_xdp_ready(false); };
    s.output_metadata = sizeof(pw_handoff);
    s.output_for = [b](LbLab& lab) {
      return handed_off(lab, to_sandbox(b, kTargetTcp).tcp(), PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetTcp).tcp());
    };
    Step again = s;  // established: the same bytes, no new insert
    again.expect = with_events(forwarded(kFeATcp, kBeSandbox, in.size(), false), {{PW_EV_XDP_TC_HANDOFF, 1}});
    out.push_back({"not_xdp_ready_target_is_handed_to_tc", {s, again}});
  }
  {
    // Same for a node port over UDP, and an established flow is not a new insert.
    const auto b = from_client(kNode, kNodePortUdp).payload("query");
    const auto in = b.udp();
    Step first{Hook::kXdp, in, kXdpPass, std::nullopt,
               with_events(forwarded(kFeNodeUdp, kBeSandbox, in.size(), true),
                           {{PW_EV_XDP_TC_HANDOFF, 1}, {PW_EV_FLOW_INSERTS, 1}})};
    first.before = [](LbLab& lab) { lab.set_xdp_ready(false); };
    first.output_metadata = sizeof(pw_handoff);
    first.output_for = [b](LbLab& lab) {
      return handed_off(lab, to_sandbox(b, kTargetUdp).udp(), PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetUdp).udp());
    };
    Step again = first;
    again.expect = with_events(forwarded(kFeNodeUdp, kBeSandbox, in.size(), false), {{PW_EV_XDP_TC_HANDOFF, 1}});
    out.push_back({"node_port_udp_handed_to_tc_established_not_reinserted", {first, again}});
  }
  {
    // No neighbour: translated, MACs kept, the stack routes; counted as such.
    const auto b = from_client(kSvcE, 53).payload("query");
    const auto in = b.udp();
    out.push_back({"no_neighbour_goes_to_the_stack_and_is_counted",
                   {{Hook::kXdp, in, kXdpPass, PacketBuilder{b}.dst_ip(kNoNeighBackend).dst_port(kTargetUdp).udp(),
                     with_events(forwarded(kFeEUdp, kBeNoNeigh, in.size(), true),
                                 {{PW_EV_XDP_STACK, 1}, {PW_EV_FLOW_INSERTS, 1}})}}});
  }
  {
    // A frame to no frontend counts nothing: the events are about translated frames.
    const auto in = from_client(kElsewhere, 80).tcp();
    out.push_back({"frame_to_no_frontend_counts_no_event",
                   {{Hook::kXdp, in, kXdpPass, std::nullopt, with_events({}, {})}}});
  }
  return out;
}

// Kernels without XDP metadata: pw_tc_uplink forwards what XDP passed to the stack translated
// when it is the client side of a flow with a fresh next hop (lib/tc_forward.h), and leaves
// everything else to the stack. On kernels with metadata nothing is passed that way, and
// pw_tc_uplink leaves a frame without a hand-off alone.
std::vector<Fixture> tc_uplink_rows() {
  std::vector<Fixture> out;
  const bool forwards = !loader::xdp_metadata_supported();
  // The XDP step: a client frame for a sandbox veth that takes no XDP frames.
  const auto xdp_step = [](const PacketBuilder& b, const std::vector<std::uint8_t>& in, std::uint16_t target,
                           std::uint32_t fe, bool tcp) {
    Step s{Hook::kXdp, in, kXdpPass, std::nullopt,
           with_events(forwarded(fe, kBeSandbox, in.size(), true), {{PW_EV_XDP_TC_HANDOFF, 1}, {PW_EV_FLOW_INSERTS, 1}})};
    s.before = [](LbLab& lab) { lab.set_xdp_ready(false); };
    s.output_metadata = sizeof(pw_handoff);
    s.output_for = [b, target, tcp](LbLab& lab) {
      const auto final_frame = tcp ? to_sandbox(b, target).tcp() : to_sandbox(b, target).udp();
      PacketBuilder stack = PacketBuilder{b}.dst_ip(kSandbox).dst_port(target);
      return handed_off(lab, final_frame, tcp ? stack.tcp() : stack.udp());
    };
    return s;
  };
  // The tc step on what XDP passed to the stack: forwarded as XDP would have (the hand-off's
  // final frame) where there is no metadata, untouched otherwise.
  const auto forward_step = [forwards](const std::vector<std::uint8_t>& stack_frame,
                                       const std::vector<std::uint8_t>& final_frame) {
    Step s{Hook::kTcUplink, stack_frame, kTcOk, std::nullopt, with_events({}, {})};
    if (forwards) {
      s.verdict = kTcRedirect;
      s.output = final_frame;
      s.expect = with_events({}, {{PW_EV_TC_STACK_FORWARD, 1}});
    }
    return s;
  };
  const auto left_alone = [](const std::vector<std::uint8_t>& frame) {
    return Step{Hook::kTcUplink, frame, kTcOk, std::nullopt, with_events({}, {})};
  };
  {
    const auto b = from_client(kSvcA, 80);
    const auto stack = PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetTcp);
    out.push_back({"tc_uplink_forwards_the_stack_frame_of_a_tcp_flow",
                   {xdp_step(b, b.tcp(), kTargetTcp, kFeATcp, true),
                    forward_step(PacketBuilder{stack}.tcp(), to_sandbox(b, kTargetTcp).tcp())}});
    // What the stack would have forwarded, and must still: not the flow's client port, not to
    // the uplink's MAC, TTL 1 (the stack answers), a first fragment (its later fragments go to
    // the stack), an IPv4 option.
    out.push_back({"tc_uplink_leaves_what_is_not_the_flows_to_the_stack",
                   {xdp_step(b, b.tcp(), kTargetTcp, kFeATcp, true),
                    left_alone(PacketBuilder{stack}.src_port(40001).tcp()),
                    left_alone(PacketBuilder{stack}.dst_mac(kOtherHostMac).tcp()),
                    left_alone(PacketBuilder{stack}.ttl(1).tcp()),
                    left_alone(PacketBuilder{stack}.fragment(0, true).tcp()),
                    left_alone(PacketBuilder{stack}.ip_options(std::vector<std::uint8_t>{1, 1, 1, 0}).tcp()),
                    left_alone(PacketBuilder{stack}.dst_ip(kNoNeighBackend).tcp())}});
  }
  {
    const auto b = from_client(kNode, kNodePortUdp).payload("query");
    out.push_back({"tc_uplink_forwards_the_stack_frame_of_a_node_port_udp_flow",
                   {xdp_step(b, b.udp(), kTargetUdp, kFeNodeUdp, false),
                    forward_step(PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetUdp).udp(),
                                 to_sandbox(b, kTargetUdp).udp())}});
  }
  {
    // A GRO-merged skb (the uplink's veth merges the frames its XDP passed): longer than any
    // frame the route accepted, so each segment is held against the largest one it did (here
    // the XDP step's 1,440-byte packet). Segments of 1,400 payload bytes (20 + 20 + 1,400) are
    // forwarded; a segment one byte longer, or a frame that long without GSO, goes to the stack,
    // which answers or fragments as for any forward.
    const auto segment = [](std::size_t payload, std::size_t count) {
      return from_client(kSvcA, 80).tcp_flags(tcp_flags::kAck).payload(std::vector<std::uint8_t>(payload * count, 0x5a));
    };
    const auto first = segment(1400, 1);
    const auto to_backend = [](const PacketBuilder& b) { return PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetTcp).tcp(); };
    Step xdp = xdp_step(first, first.tcp(), kTargetTcp, kFeATcp, true);
    Step fits = forward_step(to_backend(segment(1400, 2)), to_sandbox(segment(1400, 2), kTargetTcp).tcp());
    fits.gso = Gso{.segments = 2, .size = 1400};
    Step one_byte_more = left_alone(to_backend(segment(1401, 2)));
    one_byte_more.gso = Gso{.segments = 2, .size = 1401};
    out.push_back({"tc_uplink_forwards_a_merged_skb_only_when_its_segments_fit",
                   {xdp, fits, one_byte_more, left_alone(to_backend(segment(1400, 2)))}});
  }
  {
    // No flow at all (none made, or gone): the stack routes the frame as before.
    const auto b = from_client(kSvcA, 80);
    out.push_back({"tc_uplink_leaves_a_frame_of_no_flow_to_the_stack",
                   {left_alone(PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetTcp).tcp())}});
  }
  {
    // The next hop went stale (its lifetime over, as a re-created sandbox's would be): the
    // stack, which knows the new neighbour.
    const auto b = from_client(kSvcA, 80);
    Step stale = left_alone(PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetTcp).tcp());
    stale.before = [](LbLab& lab) {
      const std::uint32_t be = kBeSandbox;
      pw_nexthop nh{};
      ASSERT_EQ(bpf_map_lookup_elem(lab.fds().nexthops, &be, &nh), 0);
      nh.expires_ns = 1;
      ASSERT_EQ(bpf_map_update_elem(lab.fds().nexthops, &be, &nh, BPF_EXIST), 0);
    };
    out.push_back({"tc_uplink_leaves_a_flow_with_a_stale_next_hop_to_the_stack",
                   {xdp_step(b, b.tcp(), kTargetTcp, kFeATcp, true), stale}});
  }
  return out;
}

std::vector<Fixture> flow_count_rows() {
  std::vector<Fixture> out;
  {
    // A TCP flow whose backend went away: reset, and the flow deleted (counted), so that it is
    // not mistaken for an eviction.
    Step open = xdp_syn(kSvcA, 80, kFeATcp);
    open.expect = with_events(open.expect, {{PW_EV_XDP_REDIRECT, 1}, {PW_EV_FLOW_INSERTS, 1}});
    Step gone{Hook::kXdp, from_client(kSvcA, 80).tcp_flags(tcp_flags::kAck).tcp_seq(2).tcp_ack(9).tcp(),
              kXdpTx, std::nullopt,
              with_events(rejected(PW_DROP_BACKEND_GONE, kFeATcp), {{PW_EV_FLOW_DELETES, 1}})};
    gone.output = expected_rst(gone.input);
    gone.before = [](LbLab& lab) { lab.maps().clear_backend(kBeSandbox); };
    gone.check = [](LbLab& lab) {
      const auto fill = lab.maps().flow_fill();
      EXPECT_EQ(fill.entries, 0u);
      EXPECT_EQ(fill.evicted, 0u);
    };
    out.push_back({"flow_of_a_removed_backend_is_counted_as_deleted", {open, gone}});
  }
  return out;
}

}  // namespace

std::vector<Fixture> delivery_fixtures() {
  return concat({l2_rows(), path_rows(), tc_uplink_rows(), flow_count_rows()});
}

}  // namespace portway::test::lb
