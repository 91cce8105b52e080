// Fixtures for what the uplink program takes (frames addressed to the node at L2) and how it
// delivers (redirect into an xdp-ready interface, hand-off to tc, the stack), with the events
// they count (docs/xdp-dataplane.md, "Delivery").
#include <algorithm>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <bpf/bpf.h>

#include "lb_fixture.h"

namespace portway::test::lb {
namespace {

using Events = std::map<std::uint32_t, std::uint64_t>;

constexpr MacAddress kOtherHostMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
constexpr MacAddress kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr MacAddress kMulticastMac{0x01, 0x00, 0x5e, 0x13, 0x01, 0x01};  // IPv4 multicast
constexpr MacAddress kNodeMacOtherByte{0x02, 0x00, 0x00, 0x00, 0x01, 0x02};  // one byte off

Expect with_events(Expect e, Events events) {
  e.events = std::move(events);
  return e;
}

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

std::vector<Fixture> delivery_fixtures() { return concat({l2_rows(), path_rows(), flow_count_rows()}); }

}  // namespace portway::test::lb
