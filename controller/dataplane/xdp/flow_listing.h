// The fast path's flow tables (pw_conns + pw_flows, pw_conns6 + pw_flows6) read from the pins for `portway dump flows`: each flow
// in text-ready form (host-order ports), how long since the client's last packet, and whether
// its backend slot still holds the address the flow was sent to.
#pragma once

#include <optional>
#include <vector>

#include "dataplane/listed_flow.h"
#include "dataplane/xdp/pin_layout.h"
#include "loader/lb_maps.h"

namespace portway::dataplane::xdp {

// nullopt when the fast path is not installed. One syscall per flow (LRU hashes without batch
// reads here): for an operator's look, not for hot paths.
std::optional<std::vector<ListedFlow>> read_flows(const PinLayout& pins);

// pw_flows6' fill and evictions (loader::LbMaps::flow6_fill); nullopt when the fast path is
// not installed.
std::optional<loader::FlowTableFill> read_flow6_fill(const PinLayout& pins);

}  // namespace portway::dataplane::xdp
