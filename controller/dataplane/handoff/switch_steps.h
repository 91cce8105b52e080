// The fast path's side of a dataplane switch (docs/operations.md "Switching the dataplane"):
// brought up complete before nftables goes, removed only after nftables is complete, and in
// both directions the established flows carried over (flow_carry.h) before and after every
// step that moves traffic from one dataplane to the other.
#pragma once

#include <string>
#include <vector>

#include "dataplane/dataplane.h"
#include "dataplane/xdp/xdp_dataplane.h"

namespace portway::dataplane::handoff {

// Loads the programs and programs the maps with `desired`; when nftables' table is installed
// (`from_nft`), carries conntrack's translations into the flow tables; attaches tc to the
// sandbox interfaces, carries again, attaches XDP to the uplinks and the socket hooks, carries
// again. Throws on a failure to load, program or attach; a failure to carry is a note (the
// switch goes on: its flows are lost, the node is not).
ApplyReport start_fast_path(xdp::XdpDataplane& xdp, const state::DataplaneState& desired, bool from_nft);

// Carries the fast path's flows into conntrack, detaches XDP from the uplinks, carries again,
// detaches tc from the sandbox interfaces, carries again, then removes the hooks and pins.
// Notes go to `notes`. The nftables table must be complete before this is called.
void retire_fast_path(xdp::XdpDataplane& xdp, std::vector<std::string>& notes);

}  // namespace portway::dataplane::handoff
