// Sandbox registrations (`portway sandbox add|set|rm`), each within the caller's transaction.
// Refusals are model::Rejected and write nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/node_addressing.h"

#include "store/records.h"
#include "store/store.h"

namespace portway::model {

// "sb-" and 16 hex digits from the kernel's random source.
std::string generate_sandbox_id();

// Stores a validated sandbox. An empty id gets a generated one. Returns the stored record.
// Rejected when the id is already registered, or when one of its addresses is another
// sandbox's, a Service's, or one of `node_addresses` (the node's own): traffic for it would
// never reach the sandbox, or a Service's backend would be the Service itself.
store::SandboxRecord add_sandbox(store::Transaction& tx, store::SandboxRecord sandbox,
                                 const std::vector<net::InterfaceAddress>& node_addresses = {});

// Returns false (writing nothing) when the sandbox already is in `state`.
// Rejected when there is no such sandbox.
bool set_sandbox_state(store::Transaction& tx, std::string_view id, store::SandboxState state,
                       std::int64_t now_ms);

// Rejected when there is no such sandbox.
void remove_sandbox(store::Transaction& tx, std::string_view id);

}  // namespace portway::model
