// Store contents -> the desired dataplane state: a pure function (no clock, no I/O, no
// ordering dependence), so the same store always compiles to the same value.
#pragma once

#include <cstdint>
#include <vector>

#include "state/dataplane_state.h"
#include "store/records.h"
#include "store/store.h"

namespace portway::state {

// Everything compile() reads, taken in one transaction so it is one consistent state.
struct Snapshot {
  std::vector<store::ServiceRecord> services;
  std::vector<store::SandboxRecord> sandboxes;
  std::vector<store::NodePortClaim> claims;
  std::uint64_t generation = 0;  // the store generation it was read at
};

Snapshot read_snapshot(store::Transaction& tx);

// Per Service: one backend set (id = Service id) whose members are its endpoints
// (model::EndpointIndex: selector match, running or draining); for each port a frontend on the
// IPv4 address (and the IPv6 one if any); for each node_port a node-port entry, provided the
// claims table gives that (node_port, protocol) to this very Service (the claims are the
// store-wide uniqueness authority).
//
// Inputs that the store's constraints rule out are still handled deterministically: two
// sandboxes of one Service with the same IPv4 address become one member (running wins, then
// the lowest sandbox id); two frontends with one key keep the one of the lowest Service id.
DataplaneState compile(const Snapshot& snapshot);

}  // namespace portway::state
