// Map sizes of the load-balancer object: node settings, applied between open and load.
#pragma once

#include <cstdint>

#include "portway/lb_abi.h"

struct portway_lb;

namespace portway::loader {

// Entries per map (maglev_slots: slots). Defaults come from lb_abi.h; every value must be >= 1.
struct LbCapacities {
  std::uint32_t frontends = PW_DEFAULT_FRONTENDS;          // pw_frontends, pw_frontend_stats
  std::uint32_t service_addrs = PW_DEFAULT_SERVICE_ADDRS;  // pw_service_addrs
  std::uint32_t node_addrs = PW_DEFAULT_NODE_ADDRS;        // pw_node_addrs
  std::uint32_t backends = PW_DEFAULT_BACKENDS;  // pw_backends, pw_backend_stats, pw_nexthops
  std::uint32_t backend_sets = PW_DEFAULT_BACKEND_SETS;    // pw_set_descs
  // Slots of all Maglev tables together (pw_maglev_slots; 4 bytes each), rounded up to a
  // multiple of PW_MAGLEV_CHUNK_SLOTS. At most 2^31, so offset + M never overflows.
  std::uint32_t maglev_slots = PW_DEFAULT_MAGLEV_SLOTS;
  std::uint32_t flows = PW_DEFAULT_FLOWS;                  // pw_flows, pw_reverse
  std::uint32_t fragments = PW_DEFAULT_FRAGMENTS;          // pw_fragments

  bool operator==(const LbCapacities&) const = default;
};

// Sets max_entries of every sized map of an opened, not yet loaded skeleton. Throws
// loader::Error (EINVAL for a zero capacity, or libbpf's error, e.g. EBUSY once loaded).
void apply_capacities(portway_lb& skel, const LbCapacities& caps);

}  // namespace portway::loader
