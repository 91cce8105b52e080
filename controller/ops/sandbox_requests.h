// Registering, changing and removing sandboxes: the writes `portway sandbox add|set|rm` and
// the daemon's API (POST/PATCH/DELETE /v1/sandboxes) share, each one store transaction.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "model/sandbox_input.h"
#include "net/node_addressing.h"
#include "store/records.h"
#include "store/store.h"

namespace portway::ops {

// The node's own addresses, which no sandbox may take (netlink). Throws std::runtime_error
// when the kernel cannot be asked.
std::vector<net::InterfaceAddress> node_addresses();

// Registers a sandbox that model::validate_sandbox accepted (model::Conflict: its id or an
// address is taken). Returns the record stored, with its id. Callers validate before they
// open the store, so a refused request never creates a state database.
store::SandboxRecord add_sandbox(store::Store& store, store::SandboxRecord validated,
                                 const std::vector<net::InterfaceAddress>& node_addresses);

struct StateChange {
  store::SandboxState before;
  store::SandboxState after;
  bool changed() const { return before != after; }
};

// model::NotFound when no such sandbox is registered.
StateChange set_sandbox_state(store::Store& store, std::string_view id, store::SandboxState state,
                              std::int64_t now_ms);
void remove_sandbox(store::Store& store, std::string_view id);

}  // namespace portway::ops
