// `portway dump frontends|backends|flows|drops`: what the kernel holds, read from the active
// dataplane (the fast path's pinned maps; the nft table and kernel conntrack), each row named
// after the Service it maps back to (docs/operations.md "Reading a node"). The store only
// names things: a frontend, set or flow the store does not know is still listed, with
// "service": null.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node_settings.h"
#include "dataplane/listed_flow.h"
#include "ops/active_dataplane.h"
#include "state/dataplane_state.h"
#include "store/records.h"
#include "store/store.h"

namespace portway::ops {

struct KernelDump {
  std::string dataplane;            // "xdp" | "nft"
  state::DataplaneState installed;  // read back from the kernel
  state::DataplaneState compiled;   // the store's compiled state, for names (empty: no store)
  std::vector<store::ServiceRecord> services;
};

// Reads what `active` (which must have a dataplane) has installed; `store` may be null.
KernelDump read_kernel_dump(const ActiveDataplane& active, store::Store* store);

// The translated flows of the active dataplane's flow table (pw_flows, or conntrack entries
// with a destination NAT in the calling thread's network namespace), unfiltered.
std::vector<dataplane::ListedFlow> read_flows(const ActiveDataplane& active, const config::NodeSettings& settings);

// The flows that belong to portway's frontends: the destination is an installed frontend, or
// a node address at an installed node port and the backend one of its members (conntrack
// holds everyone's NAT; the fast path's table only portway's, then every flow is kept).
std::vector<dataplane::ListedFlow> portway_flows(const KernelDump& d, std::vector<dataplane::ListedFlow> flows);

// {"dataplane","frontends":[{"frontend","address","port","protocol","node_port","target_port",
//  "backend_set","backends":{"running","draining"},"service"}]}
// "service": {"id","app","service","port"} or null.
nlohmann::json frontends_json(const KernelDump& d);
std::string frontends_text(const KernelDump& d);

// {"dataplane","backends":[{"backend_set","address","ipv6","state","service"}]}
// "service": {"id","app","service"} or null.
nlohmann::json backends_json(const KernelDump& d);
std::string backends_text(const KernelDump& d);

// {"dataplane","flows":[{"protocol","client","client_port","frontend","frontend_port","backend",
//  "backend_port","snat","state","idle_ms","expires_s","service"}]}; addresses as text, ports
// in host order; "service" as for frontends.
nlohmann::json flows_json(const KernelDump& d, const std::vector<dataplane::ListedFlow>& flows);
std::string flows_text(const KernelDump& d, const std::vector<dataplane::ListedFlow>& flows);

// {"dataplane","drops":{REASON:PACKETS}}: every reason the dataplane counts; the text lists
// those that counted something.
nlohmann::json drops_json(const std::string& dataplane, const std::map<std::string, std::uint64_t>& drops);
std::string drops_text(const std::map<std::string, std::uint64_t>& drops);

}  // namespace portway::ops
