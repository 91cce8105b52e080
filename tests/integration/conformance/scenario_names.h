// The rows of the conformance table (docs/dataplane.md "Parity"; docs/parity.md "What runs"). Both
// dataplanes must produce every row, and the parity check requires each of them in both
// tables, so a scenario that silently stopped running is caught. Adding a scenario = adding
// its name here and a TEST_P that records the row.
#pragma once

#include <array>
#include <string_view>

namespace portway::conformance {

inline constexpr std::array<std::string_view, 19> kScenarios{
    "per_port_targets",
    "node_port_local",
    "node_port_number_to_other_destination",
    "node_port_other_local_address",
    "client_source_preserved",
    "hairpin",
    "reject_no_endpoint",
    "reject_undeclared_port",
    "draining",
    "removed_backend_tcp",
    "removed_backend_udp",
    "scale_up",
    "scale_down",
    "new_flow_assignments_on_scale",
    "icmp_frag_needed",
    "fragmented_udp",
    "counters",
    "from_node",
    "node_port_veth_defaults",
};

}  // namespace portway::conformance
