// Link, address and route changes over rtnetlink in the current network namespace (enter
// another one with NetnsGuard first). What `ip link/addr/route` would do, without a
// subprocess: the product never shells out.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/ip_prefix.h"

namespace portway::netlink {

struct LinkInfo {
  std::string name;
  unsigned ifindex = 0;
};

// Every link of the current namespace, by ifindex.
std::vector<LinkInfo> list_links();

// The IPv4 addresses configured on a link.
std::vector<net::Ipv4> ipv4_addresses(unsigned ifindex);
// The interface's global-scope IPv6 addresses (link-local ones left out).
std::vector<net::Ipv6> ipv6_addresses(unsigned ifindex);

// 0 when there is no such link.
unsigned ifindex_of(const std::string& name);

// A veth pair: `name` here, `peer` moved into the namespace `peer_netns_fd` (or here if -1).
void create_veth(const std::string& name, const std::string& peer, int peer_netns_fd = -1);
// A Linux bridge: an Ethernet device without native XDP (what a test needs to see the fast
// path refuse generic mode).
void create_bridge(const std::string& name);

void set_link_up(const std::string& name);

// Returns false if the link did not exist.
bool delete_link(const std::string& name);

void add_address(const std::string& link, net::Ipv4 address, std::uint8_t prefix_length);
// An IPv6 address without duplicate address detection (IFA_F_NODAD): usable at once, as a lab
// or test link needs it (DAD would hold it tentative for about a second).
void add_address(const std::string& link, const net::Ipv6& address, std::uint8_t prefix_length);

// dst/len via gateway (or a device route when gateway is absent, through `link`).
void add_route(const net::Ipv4Prefix& dst, std::optional<net::Ipv4> gateway,
               const std::string& link = "");
void add_route(const net::Ipv6Prefix& dst, std::optional<net::Ipv6> gateway,
               const std::string& link = "");

// A permanent IPv4 neighbour entry (what `ip neigh replace ADDR lladdr MAC dev LINK nud
// permanent` does): for a peer that will not answer ARP, e.g. a counting sink that drops
// every frame.
void add_permanent_neighbour(const std::string& link, net::Ipv4 address,
                             const std::array<std::uint8_t, 6>& mac);
// The same for IPv6 (a peer that will not answer neighbour solicitations).
void add_permanent_neighbour(const std::string& link, const net::Ipv6& address,
                             const std::array<std::uint8_t, 6>& mac);

// The link's Ethernet address (SIOCGIFHWADDR). Throws std::system_error.
std::array<std::uint8_t, 6> mac_address(const std::string& link);

// Device offloads through the ethtool ioctl (what `ethtool -K` changes).
// tx checksumming off: the device sends full checksums. XDP on a veth sees the peer's frames
// as sent, so with offload on, locally generated TCP/UDP carries only a partial (pseudo-header)
// checksum that an incrementally updated DNAT would turn into a wrong one.
void set_tx_checksumming(const std::string& link, bool on);
// GRO on a veth enables its NAPI instance, which is what lets it receive XDP_REDIRECTed
// frames from its peer (without NAPI, or an XDP program of its own, they are dropped).
void set_gro(const std::string& link, bool on);

// Writes /proc/sys/<key with dots as slashes> in the current namespace, e.g.
// write_sysctl("net.ipv4.ip_forward", "1").
void write_sysctl(const std::string& key, const std::string& value);
// The value of a sysctl, trailing newline removed. Throws std::system_error.
std::string read_sysctl(const std::string& key);

// A link's drop counters in the calling thread's namespace (/proc/thread-self/net/dev: the
// thread's namespace, where /sys/class/net shows the mount's). A veth counts here, and nowhere
// else, the frames its XDP ring had no room for (rx) and the frames its peer's ring had no
// room for (tx). Throws std::invalid_argument for an unknown link.
struct LinkDrops {
  std::uint64_t rx = 0, tx = 0;
};
LinkDrops link_drops(const std::string& link);

}  // namespace portway::netlink
