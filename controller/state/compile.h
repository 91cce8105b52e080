// Store contents -> the desired dataplane state: a pure function (no clock, no I/O, no
// ordering dependence), so the same store always compiles to the same value.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
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

// One Service's share of compile()'s result. compile() is built from these, and
// IncrementalCompiler recompiles only the Services a change touches with the same two
// functions, so the two agree by construction.
struct ServiceFragment {
  BackendSet backend_set;            // id = the Service id
  std::vector<Frontend> frontends;   // sorted by key; of two ports with one key, the first
  std::vector<NodePort> node_ports;  // the claims the Service owns; sorted, first port wins

  bool operator==(const ServiceFragment&) const = default;
};

// Who owns a node-port claim: the Service id, or nullptr when the key is unclaimed.
using ClaimOwner = std::function<const std::string*(const NodePortKey&)>;

// `endpoints`: the members of the sandboxes that the Service's selector matches and that carry
// traffic, ordered by sandbox id (not yet unique by address: this resolves duplicates).
ServiceFragment compile_service(const store::ServiceRecord& service, std::vector<Member> endpoints,
                                const ClaimOwner& owner_of);

// The state made of `fragments`, given in ascending Service id order: where two Services
// give one frontend or node-port key, the lowest Service id keeps it.
DataplaneState assemble(std::span<const ServiceFragment* const> fragments);

// The member a sandbox that carries traffic becomes.
Member member_of(const store::SandboxRecord& sandbox);

}  // namespace portway::state
