// How Services and sandboxes are shown (`portway services`, `apply`, `sandbox list`): one
// JSON shape per entity, shared by every command that prints it, and a compact text form.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "model/endpoints.h"
#include "store/records.h"
#include "store/store.h"

namespace portway::ops {

// {"id","app","service","addresses":[...],"ports":[{"name","port","target_port","protocol",
//  "type","node_port"}],"labels":{},"selector":{"app","service"},"revision",
//  "endpoints":[{"sandbox","address","ipv6","iface","state"}]}
nlohmann::json service_json(const store::ServiceRecord& s, const model::EndpointIndex& endpoints);

// {"id","app","service","address","ipv6","iface","labels","state","changed_at_ms"}
nlohmann::json sandbox_json(const store::SandboxRecord& s);

// "svc/irc/irc  198.18.3.4, 2001:2::3:4\n  ports: ...\n  endpoints: ID 198.18.5.6/2001:2::5:6 running, ...\n"
// (IPv6 addresses where the Service or the sandbox has one)
std::string service_text(const store::ServiceRecord& s, const model::EndpointIndex& endpoints);

std::string sandbox_text(const store::SandboxRecord& s);

// Every Service with the sandboxes that may back it, read in one transaction.
struct ServiceListing {
  std::vector<store::ServiceRecord> services;
  std::vector<store::SandboxRecord> sandboxes;
};
ServiceListing list_services(store::Store* store);  // nullptr (no store yet): empty

// {"services":[service_json...]}: `portway services --json`, GET /v1/services.
nlohmann::json services_json(const ServiceListing& listing);

// JSON text for stdout; `replace` so no stored byte sequence can make dump() throw.
std::string dump(const nlohmann::json& j);

}  // namespace portway::ops
