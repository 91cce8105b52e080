// How Services and sandboxes are shown (`portway services`, `apply`, `sandbox list`): one
// JSON shape per entity, shared by every command that prints it, and a compact text form.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "model/endpoints.h"
#include "store/records.h"

namespace portway::cli {

// {"id","app","service","addresses":[...],"ports":[{"name","port","target_port","protocol",
//  "type","node_port"}],"labels":{},"selector":{"app","service"},"revision",
//  "endpoints":[{"sandbox","address","ipv6","iface","state"}]}
nlohmann::json service_json(const store::ServiceRecord& s, const model::EndpointIndex& endpoints);

// {"id","app","service","address","ipv6","iface","labels","state","changed_at_ms"}
nlohmann::json sandbox_json(const store::SandboxRecord& s);

// "svc/irc/irc  198.18.3.4\n  ports: ...\n  endpoints: ...\n"
std::string service_text(const store::ServiceRecord& s, const model::EndpointIndex& endpoints);

std::string sandbox_text(const store::SandboxRecord& s);

// JSON text for stdout; `replace` so no stored byte sequence can make dump() throw.
std::string dump(const nlohmann::json& j);

}  // namespace portway::cli
