// The part of a desired state that the nftables dataplane programs, so that what it reads back
// (installed()) can equal what it was asked for:
//   - every frontend (IPv4 and IPv6) and every node port;
//   - the backend sets they use; a backend set no frontend uses has no observable behaviour
//     and is left out. A set that only IPv6 frontends use keeps only its members that have an
//     IPv6 address (the others can never be picked, and the table has no place that would
//     name them: its slots are IPv6 addresses).
// One rule the layout needs: a service address belongs to one backend set (the slot map is
// keyed by address). compile() guarantees it (a Service has one address per family); other
// states are refused.
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

// Throws std::invalid_argument when a service address is used by two backend sets.
Representable representable(const state::DataplaneState& s);

// `set` as the table holds it: without its members that have no IPv6 address when only IPv6
// frontends use it (`ipv4_used`: an IPv4 frontend or a node port uses it).
state::BackendSet as_programmed(const state::BackendSet& set, bool ipv4_used);

}  // namespace portway::dataplane::nft
