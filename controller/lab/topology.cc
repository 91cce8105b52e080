#include "lab/topology.h"

#include <unistd.h>

#include <stdexcept>

#include "lab/xdp_pass.h"
#include "netlink/links.h"
#include "netlink/netns.h"

namespace portway::lab {
namespace {

constexpr std::uint32_t kLab = 0xC6120000u;  // 198.18.0.0

net::Ipv4 lab_addr(std::uint32_t third, std::uint32_t fourth) {
  return net::Ipv4{kLab | (third << 8) | fourth};
}

// 2001:2:0:<subnet>::<host>
net::Ipv6 lab_addr6(std::uint16_t subnet, std::uint8_t host) {
  net::Ipv6 a{{0x20, 0x01, 0x00, 0x02}};
  a.bytes[6] = static_cast<std::uint8_t>(subnet >> 8);
  a.bytes[7] = static_cast<std::uint8_t>(subnet);
  a.bytes[15] = host;
  return a;
}
const net::Ipv6Prefix kLab6{net::Ipv6{{0x20, 0x01, 0x00, 0x02}}, 48};

void bring_up_loopback() { netlink::set_link_up("lo"); }

// Links created (or moved) into this namespace from now on get their link-local address
// without the second of duplicate address detection: neighbour discovery for forwarded
// packets needs a usable link-local source.
void skip_dad_for_new_links() {
  netlink::write_sysctl("net.ipv6.conf.default.accept_dad", "0");
  netlink::write_sysctl("net.ipv6.conf.all.accept_dad", "0");
}

}  // namespace

Topology plan_topology(const TopologyPlan& plan) {
  if (plan.sandboxes > 200) throw std::invalid_argument("at most 200 sandboxes");
  if (plan.prefix.empty() || plan.prefix.size() > 20)
    throw std::invalid_argument("lab prefix must be 1-20 characters");
  Topology t;
  t.client_netns = plan.prefix + "-client";
  t.node_netns = plan.prefix + "-node";
  t.client_address = lab_addr(0, 2);
  t.node_address = lab_addr(0, 1);
  t.client_address6 = lab_addr6(0, 2);
  t.node_address6 = lab_addr6(0, 1);
  for (unsigned i = 0; i < plan.sandboxes; ++i) {
    const auto subnet = static_cast<std::uint16_t>(10 + i);
    t.sandboxes.push_back({plan.prefix + "-sb" + std::to_string(i), "sb" + std::to_string(i), lab_addr(10 + i, 2),
                           lab_addr(10 + i, 1), lab_addr6(subnet, 2), lab_addr6(subnet, 1)});
  }
  return t;
}

Topology build_topology(const TopologyPlan& plan) {
  const Topology t = plan_topology(plan);
  try {
    netlink::create_named_netns(t.node_netns);
    netlink::create_named_netns(t.client_netns);
    for (const auto& sb : t.sandboxes) netlink::create_named_netns(sb.netns);

    {
      netlink::NetnsGuard in(t.client_netns);
      bring_up_loopback();
      skip_dad_for_new_links();
    }
    netlink::NetnsGuard node(t.node_netns);
    bring_up_loopback();
    skip_dad_for_new_links();
    netlink::write_sysctl("net.ipv4.ip_forward", "1");
    netlink::write_sysctl("net.ipv6.conf.all.forwarding", "1");

    const int client_fd = netlink::open_named_netns(t.client_netns);
    try {
      netlink::create_veth(t.uplink, "eth0", client_fd);
    } catch (...) {
      ::close(client_fd);
      throw;
    }
    ::close(client_fd);
    netlink::add_address(t.uplink, t.node_address, 24);
    netlink::add_address(t.uplink, t.node_address6, 64);
    netlink::set_link_up(t.uplink);
    // Processes on the node connect to service addresses too; without a route the kernel
    // refuses before any dataplane sees the packet (ENETUNREACH).
    netlink::add_route(kLabServiceCidr, std::nullopt, t.uplink);
    netlink::add_route(kLabServiceCidr6, std::nullopt, t.uplink);

    for (const auto& sb : t.sandboxes) {
      const int fd = netlink::open_named_netns(sb.netns);
      try {
        netlink::create_veth(sb.host_link, "eth0", fd);
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
      netlink::add_address(sb.host_link, sb.gateway, 24);
      netlink::add_address(sb.host_link, sb.gateway6, 64);
      netlink::set_link_up(sb.host_link);
      netlink::NetnsGuard in(sb.netns);
      bring_up_loopback();
      netlink::add_address("eth0", sb.address, 24);
      netlink::add_address("eth0", sb.address6, 64);
      netlink::set_link_up("eth0");
      // The sandbox end stays as a container runtime leaves it (GRO off, no XDP program):
      // the fast path must deliver to such a veth (docs/xdp-dataplane.md, "Delivery").
      netlink::add_route({net::Ipv4{0}, 0}, sb.gateway);
      netlink::add_route(net::Ipv6Prefix{}, sb.gateway6);
    }

    netlink::NetnsGuard in(t.client_netns);
    netlink::add_address("eth0", t.client_address, 24);
    netlink::add_address("eth0", t.client_address6, 64);
    netlink::set_link_up("eth0");
    // The client plays an outside host behind a NIC: full checksums on the wire (see
    // set_tx_checksumming), as the node's XDP program would get from a real uplink.
    netlink::set_tx_checksumming("eth0", false);
    // The fast path answers rejects and frag-needed with XDP_TX back through this veth, which
    // reaches the client only if its end has an XDP program (xdp_pass.h says why). This end
    // stands for the far side of an uplink (a NIC's wire), not for a sandbox.
    attach_xdp_pass("eth0");
    netlink::add_route(kLabServiceCidr, t.node_address);
    netlink::add_route({net::Ipv4{kLab}, 15}, t.node_address);
    netlink::add_route(kLabServiceCidr6, t.node_address6);
    netlink::add_route(kLab6, t.node_address6);
  } catch (...) {
    destroy_topology(plan);
    throw;
  }
  return t;
}

unsigned destroy_topology(const TopologyPlan& plan) {
  const Topology t = plan_topology(plan);
  unsigned removed = 0;
  std::vector<std::string> names{t.client_netns, t.node_netns};
  for (const auto& sb : t.sandboxes) names.push_back(sb.netns);
  for (const auto& name : names)
    if (netlink::delete_named_netns(name)) ++removed;
  return removed;
}

}  // namespace portway::lab
