// Link, address and route changes over rtnetlink in the current network namespace (enter
// another one with NetnsGuard first). What `ip link/addr/route` would do, without a
// subprocess: the product never shells out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "net/ip_prefix.h"

namespace portway::netlink {

// 0 when there is no such link.
unsigned ifindex_of(const std::string& name);

// A veth pair: `name` here, `peer` moved into the namespace `peer_netns_fd` (or here if -1).
void create_veth(const std::string& name, const std::string& peer, int peer_netns_fd = -1);

void set_link_up(const std::string& name);

// Returns false if the link did not exist.
bool delete_link(const std::string& name);

void add_address(const std::string& link, net::Ipv4 address, std::uint8_t prefix_length);

// dst/len via gateway (or a device route when gateway is absent, through `link`).
void add_route(const net::Ipv4Prefix& dst, std::optional<net::Ipv4> gateway,
               const std::string& link = "");

// Writes /proc/sys/<key with dots as slashes> in the current namespace, e.g.
// write_sysctl("net.ipv4.ip_forward", "1").
void write_sysctl(const std::string& key, const std::string& value);

}  // namespace portway::netlink
