// Repairs of the pin folder (docs/operations.md "Repairs"): a pin deleted by hand or by a
// script leaves its object running in the kernel as long as something else holds it (a
// program holds its maps; an fd holds a link). Re-pinning that object keeps the fast path
// and its flows as they are; creating a new one beside it would split the state (a new empty
// map that the running program never reads) or attach the program twice.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/xdp/pin_layout.h"

namespace portway::dataplane::xdp {

// Re-pins each map of `names` whose pin is missing, found through the programs of the fast
// path: the pinned programs, the programs behind the pinned links, and the XDP programs on
// `uplink_ifindexes`. Returns one note per map re-pinned; a map no program uses cannot be
// found and stays missing (the caller recreates it).
std::vector<std::string> repin_missing_maps(const PinLayout& pins, const std::vector<std::string>& names,
                                            const std::vector<unsigned>& uplink_ifindexes);

// An XDP link running portway's uplink program on `ifindex` (of this network namespace)
// whose pin is gone but which is still held: re-pinned at `pin`. True when one was found.
bool adopt_xdp_link(const std::string& pin, unsigned ifindex);

// The same for a socket hook's cgroup link (`program`: its name in portway_lb).
bool adopt_cgroup_link(const std::string& pin, std::uint64_t cgroup_id, std::uint32_t attach_type,
                       const std::string& program);

}  // namespace portway::dataplane::xdp
