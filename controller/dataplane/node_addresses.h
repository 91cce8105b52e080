// The addresses node ports answer on, for both dataplanes (docs/config.md `node_addresses`):
// the configured node addresses, or, when none are configured, the addresses the uplinks have
// right now (read from the kernel in the calling thread's network namespace, so a changed DHCP
// lease or a new SLAAC address is picked up by the next sync).
#pragma once

#include <vector>

#include "config/node_settings.h"
#include "net/ip_prefix.h"

namespace portway::dataplane {

// In the order configured (the first one of each family is the fast path's hairpin source of
// that family), then in uplink order. An uplink that does not exist contributes nothing.
std::vector<net::Ipv4> node_ipv4_addresses(const config::NodeSettings& settings);
// The same for IPv6; from the uplinks, global-scope addresses only (not link-local ones).
std::vector<net::Ipv6> node_ipv6_addresses(const config::NodeSettings& settings);

}  // namespace portway::dataplane
