// representable() for a diff: the part of a diff of desired states that the nftables
// dataplane programs (representable.h says what that is), computed from the diff and look-ups
// only, so that a one-sandbox change costs O(log n + members) and not a pass over the state.
#pragma once

#include "dataplane/nft/planner.h"
#include "state/diff.h"

namespace portway::dataplane::nft {

// `installed` is the representable state the dataplane holds (described by `index`), `after`
// the whole desired state once `d` is applied (not reduced; used for look-ups). The result
// `r` satisfies patch(installed, r) == representable(after). Throws std::invalid_argument
// when an IPv4 service address the diff touches would be used by two backend sets.
state::StateDiff representable_diff(const state::StateDiff& d, const state::DataplaneState& installed,
                                    const InstalledIndex& index, const state::DataplaneState& after);

}  // namespace portway::dataplane::nft
