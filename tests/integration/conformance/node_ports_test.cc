// Conformance scenarios about which destinations node ports answer on (docs/parity.md): the
// node addresses only (the configured ones, or the uplinks' when none are configured, as in
// the lab), never another local address of the node (a sandbox's gateway) and never
// 127.0.0.1 (docs/nftables.md "Node ports": localhost node ports are not served).
#include "conformance_fixture.h"
#include "lab/probe_client.h"
#include "lab_dataplanes.h"

namespace portway::conformance {
namespace {

using lab::ProbeStatus;

TEST_P(ConformanceTest, NodePortOtherLocalAddress) {
  const std::string s = "node_port_other_local_address";
  apply_web(ground_->all_members());
  // sb1's gateway is an address of the node, but not a node address. Nothing on the node
  // listens on the node-port numbers, so the node's own stack refuses.
  const std::string gw = gateway(1);
  const std::string node = topo().node_netns;
  const std::string cgroup = itest::lab_cgroup(topo());
  const auto from_node = [&](const std::string& addr) {
    return lab::probe_in_cgroup(cgroup, [&] { return lab::tcp_probe(node, addr, kNodePortTcp); });
  };
  const struct {
    std::string field;
    lab::ProbeResult r;
  } probes[] = {
      {"client_to_gateway_tcp", lab::tcp_probe(client(), gw, kNodePortTcp)},
      {"client_to_gateway_udp", lab::udp_probe(client(), gw, kNodePortUdp)},
      {"sandbox_to_its_gateway_tcp", lab::tcp_probe(topo().sandboxes[1].netns, gw, kNodePortTcp)},
      {"node_to_gateway_tcp", from_node(gw)},
      {"node_to_loopback_tcp", from_node(loopback())},
  };
  for (const auto& p : probes) {
    record(s, p.field + ".client_saw", lab::to_string(p.r.status));
    EXPECT_EQ(p.r.status, ProbeStatus::refused) << p.field << ": " << p.r.reply << p.r.error;
  }
  // The node address itself still answers, from outside and from the node.
  const auto on_node_address = from_node(node_address());
  record(s, "node_to_node_address_tcp.client_saw", lab::to_string(on_node_address.status));
  EXPECT_EQ(on_node_address.status, ProbeStatus::ok) << on_node_address.error;
}

}  // namespace
}  // namespace portway::conformance
