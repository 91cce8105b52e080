// The part of a desired state that the nftables dataplane programs, so that what it reads back
// (installed()) can equal what it was asked for:
//   - every frontend (IPv4 and IPv6) and every node port;
//   - the backend sets they use; a backend set no frontend uses has no observable behaviour
//     and is left out. A set keeps the members that have an address of a family its users
//     use: one only IPv6 frontends use keeps the members with an IPv6 address, one only IPv4
//     frontends use those with an IPv4 address (node ports use both families). The others can
//     never be picked, and the table has no place that would name them: a slot is an
//     address of its table's family.
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

// Which families' frontends use a set: IPv4 frontends and node ports the IPv4 side, IPv6
// frontends and node ports the IPv6 side.
struct FamiliesUsed {
  bool ipv4 = false, ipv6 = false;
};

// `set` as the table holds it: only its members with an address of a family in `used`.
state::BackendSet as_programmed(const state::BackendSet& set, FamiliesUsed used);

}  // namespace portway::dataplane::nft
