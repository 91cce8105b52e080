// What an uplink needs before the XDP program runs on it (docs/xdp-dataplane.md, "Delivery"):
//   - its MAC in pw_interfaces, so that frames for other hosts are passed untouched;
//   - pw_tc_uplink on its tc ingress, which delivers the translated frames the XDP program
//     hands off (every sandbox interface not known to accept XDP frames).
// Both before the XDP program is attached or upgraded: a handed-off frame with no tc program
// to take it would be dropped by the stack as another host's.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/xdp/meta_maps.h"
#include "loader/lb_maps.h"

namespace portway::dataplane::xdp {

// The interface's MAC address (SIOCGIFHWADDR). Throws loader::Error.
std::array<std::uint8_t, 6> interface_mac(const std::string& ifname);

// Records the uplink's MAC (refreshed every time: a changed MAC is followed by the next sync)
// and attaches pw_tc_uplink to its tc ingress if it is not there. Throws loader::Error.
// `tc_uplink_prog`: the pw_tc_uplink program fd.
void prepare_uplink(loader::LbMaps& maps, MetaMaps& meta, int tc_uplink_prog,
                    const std::string& ifname, unsigned ifindex, std::vector<std::string>& notes);

// prepare_uplink for every uplink of the settings that exists (a missing one is the XDP
// attach's error to report), then release_uplinks for the ones no longer named.
void prepare_uplinks(loader::LbMaps& maps, MetaMaps& meta, int tc_uplink_prog,
                     const std::vector<std::string>& uplinks, std::vector<std::string>& notes);

// What a removal does with a clsact qdisc portway created. Removing a qdisc from an interface
// that is up deactivates its transmit queue for a moment (the kernel's qdisc graft), and the
// frames sent in it are dropped: a switch of dataplane under load keeps the qdiscs, and only
// a removal of the whole fast path takes them away (docs/operations.md "Switching the
// dataplane").
enum class CreatedQdiscs : std::uint8_t { remove, keep };

// Undoes prepare_uplink for every uplink recorded in `meta` whose ifindex is not in `keep`:
// the tc filter goes (and the clsact qdisc, if portway created it and `qdiscs` says remove),
// the pw_interfaces entry too. Interfaces that vanished took their filter with them.
// `hand_off_prog_id`: the loaded pw_tc_uplink's id (0 when none is loaded).
void release_uplinks(loader::LbMaps* maps, MetaMaps& meta, const std::vector<unsigned>& keep,
                     std::uint32_t hand_off_prog_id, std::vector<std::string>& notes,
                     CreatedQdiscs qdiscs = CreatedQdiscs::remove);

}  // namespace portway::dataplane::xdp
