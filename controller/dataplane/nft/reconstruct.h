// The DataplaneState a read-back table implements (installed()). The ruleset holds numbers, not
// names: set ids come from the number book (a placeholder for numbers this process was never
// told about), port names from the last state this process applied or learned.
#pragma once

#include <string>
#include <vector>

#include "dataplane/nft/readback.h"
#include "dataplane/nft/set_numbers.h"
#include "state/dataplane_state.h"

namespace portway::dataplane::nft {

struct Reconstructed {
  state::DataplaneState state;
  std::vector<std::string> problems;  // entries that do not fit together (drift)
};

// `names` may be null. Never throws on odd content: what does not fit is left out and listed.
Reconstructed reconstruct(const ReadBack& rb, const SetNumbers& numbers, const state::DataplaneState* names);

// Key text back to keys; false when the text is not one portway writes.
bool parse_frontend_key(const std::string& text, state::FrontendKey& out);
bool parse_node_port_key(const std::string& text, state::NodePortKey& out);

}  // namespace portway::dataplane::nft
