// A model of the table's elements for tests: what a state puts in each set, and what a
// transaction's element operations do to it.
#pragma once

#include <array>
#include <map>
#include <string>

#include "dataplane/nft/elements.h"
#include "dataplane/nft/transaction.h"

namespace portway::dataplane::nft::testing {

using Contents = std::array<std::map<std::string, std::string>, kSetCount>;  // key -> data

// With `slots`, the slot tables are those (new ones where it has none): what a table holding
// them shows; without, every table is new.
Contents contents_of(const state::DataplaneState& s, const SetNumbers& numbers, const SlotBook& slots = {});
void replay(Contents& c, const Transaction& tx);  // deletes first, then adds (as nft does)
SetNumbers numbers_for(const state::DataplaneState& s);

}  // namespace portway::dataplane::nft::testing
