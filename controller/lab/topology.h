// The lab topology in network namespaces (docs/operations.md "The lab"; also the integration
// tests' ground): a client outside, a node where portway programs the dataplane, sandboxes behind
// veth pairs. Addresses come from the benchmarking ranges 198.18.0.0/15 and 2001:2::/48 only;
// every link has one of each family:
//
//   <p>-client  eth0 198.18.0.2/24, 2001:2::2/64 ------ up0 198.18.0.1/24, 2001:2::1/64   <p>-node
// sb<i> 198.18.<10+i>.1/24, 2001:2:0:<10+i>::1/64 ---- eth0 198.18.<10+i>.2/24,
//                                                       2001:2:0:<10+i>::2/64 <p>-sb<i>
//
// The client routes the service ranges (198.19.0.0/24, 2001:2:1::/64) and the lab ranges to
// the node; each sandbox's default routes are its node-side addresses; the node forwards both
// families. IPv6 addresses skip duplicate address detection, and the node and client take
// their link-local addresses without it (so neighbour discovery works at once); the sandbox
// ends stay at the kernel's defaults.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/ip_prefix.h"

namespace portway::lab {

struct TopologyPlan {
  std::string prefix = "pwlab";  // namespace names start with it; tests use a unique one
  unsigned sandboxes = 3;        // at most 200
};

struct SandboxSlot {
  std::string netns;       // <prefix>-sb<i>
  std::string host_link;   // sb<i>, in the node namespace
  net::Ipv4 address;       // 198.18.<10+i>.2
  net::Ipv4 gateway;       // 198.18.<10+i>.1
  net::Ipv6 address6;      // 2001:2:0:<10+i>::2
  net::Ipv6 gateway6;      // 2001:2:0:<10+i>::1
};

struct Topology {
  std::string client_netns;
  std::string node_netns;
  std::string uplink = "up0";  // node side of the client link
  net::Ipv4 client_address;    // 198.18.0.2
  net::Ipv4 node_address;      // 198.18.0.1
  net::Ipv6 client_address6;   // 2001:2::2
  net::Ipv6 node_address6;     // 2001:2::1
  std::vector<SandboxSlot> sandboxes;
};

inline const net::Ipv4Prefix kLabServiceCidr{net::Ipv4{0xC6130000u}, 24};  // 198.19.0.0/24
inline const net::Ipv6Prefix kLabServiceCidr6{net::Ipv6{{0x20, 0x01, 0x00, 0x02, 0x00, 0x01}}, 64};  // 2001:2:1::/64

// The names and addresses a plan leads to (pure).
Topology plan_topology(const TopologyPlan& plan);

// Creates every namespace, link, address and route. On failure it removes what it created
// and rethrows. Throws std::system_error / netlink::NetlinkError.
Topology build_topology(const TopologyPlan& plan);

// Deletes the namespaces of the plan (links go with them). Safe to call when nothing or only
// part exists: it is how `lab down` cleans up after a crash. Returns how many it removed.
unsigned destroy_topology(const TopologyPlan& plan);

}  // namespace portway::lab
