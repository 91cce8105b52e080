// Sandbox registrations (`portway sandbox add|set|rm`), each within the caller's transaction.
// Refusals are model::Rejected and write nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/records.h"
#include "store/store.h"

namespace portway::model {

// "sb-" and 16 hex digits from the kernel's random source.
std::string generate_sandbox_id();

// Stores a validated sandbox. An empty id gets a generated one. Returns the stored record.
// Rejected when the id is already registered.
store::SandboxRecord add_sandbox(store::Transaction& tx, store::SandboxRecord sandbox);

// Returns false (writing nothing) when the sandbox already is in `state`.
// Rejected when there is no such sandbox.
bool set_sandbox_state(store::Transaction& tx, std::string_view id, store::SandboxState state,
                       std::int64_t now_ms);

// Rejected when there is no such sandbox.
void remove_sandbox(store::Transaction& tx, std::string_view id);

}  // namespace portway::model
