// The part of a desired state that the nftables dataplane programs, so that what it reads back
// (installed()) can equal what it was asked for:
//   - IPv4 frontends and all node ports (IPv6 frontends: not yet, docs/dataplane.md "IPv4 first");
//   - the backend sets they use, members without their IPv6 address (no IPv6 frontend uses
//     it); a backend set no frontend uses has no observable behaviour and is left out.
// One rule the layout needs: an IPv4 service address belongs to one backend set (the slot map
// is keyed by address). compile() guarantees it (a Service has one address); other states
// are refused.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "state/dataplane_state.h"

namespace portway::dataplane::nft {

struct Representable {
  // nullopt: the input is already representable as it is (the common case, no copy made).
  std::optional<state::DataplaneState> reduced;
  std::vector<std::string> notes;  // what was left out, one line per kind

  const state::DataplaneState& of(const state::DataplaneState& input) const {
    return reduced ? *reduced : input;
  }
};

// Throws std::invalid_argument when an IPv4 service address is used by two backend sets.
Representable representable(const state::DataplaneState& s);

}  // namespace portway::dataplane::nft
