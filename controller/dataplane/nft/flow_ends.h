// The NATed flows a change ends (docs/dataplane.md "Semantics", a removed or stopped backend):
//   - a backend removed from a set (or its set removed): flows DNATed to it through any of
//     the set's frontends or node ports. UDP re-balances on its next datagram; TCP's next
//     segment finds no flow and is answered with a reset (by a live backend, or by the
//     no-backend reject), as the fast path does;
//   - a frontend or node port removed: the flows that came in through it.
// A backend that turns draining keeps its flows: nothing is selected for it.
#pragma once

#include <vector>

#include "dataplane/conntrack/flow_match.h"
#include "state/diff.h"

namespace portway::dataplane::nft {

std::vector<conntrack::FlowMatch> flows_to_end(const state::DataplaneState& before, const state::StateDiff& d);

}  // namespace portway::dataplane::nft
