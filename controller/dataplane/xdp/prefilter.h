// The content of pw_prefilter (include/portway/lb_abi.h): the destinations that may be the fast
// path's, which its programs check before any hash lookup (docs/xdp-dataplane.md, "The prefix
// filter"). Built from the node's service ranges (node settings service_cidr / service_cidr6),
// its node addresses and any installed frontend address outside those ranges. A family whose
// prefixes do not all fit (PW_PREFILTER_V4 / V6) gets no ON flag: its destinations then all go
// on to the lookups, which decide exactly as without a filter.
#pragma once

#include <optional>
#include <vector>

#include "config/node_settings.h"
#include "net/ip_prefix.h"
#include "net/node_addressing.h"
#include "portway/lb_abi.h"
#include "state/dataplane_state.h"

namespace portway::dataplane::xdp {

struct PrefilterInput {
  net::Ipv4Prefix service_cidr;
  std::optional<net::Ipv6Prefix> service_cidr6;
  std::vector<net::Ipv4> node_v4;
  std::vector<net::Ipv6> node_v6;
};

// The service ranges and node addresses of this node (node addresses read as
// node_ipv4_addresses reads them: configured, else the uplinks' own, both families).
[[nodiscard]] PrefilterInput prefilter_input(const config::NodeSettings& settings);

// Prefixes covered by another are left out; frontend addresses outside every prefix are added
// as host prefixes.
[[nodiscard]] pw_prefilter build_prefilter(const PrefilterInput& in,
                                           const state::DataplaneState& installed);

// Whether the filter lets `a` through (what the BPF side computes).
[[nodiscard]] bool prefilter_admits(const pw_prefilter& pf, const net::IpAddress& a);

}  // namespace portway::dataplane::xdp
