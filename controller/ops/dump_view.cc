#include "ops/dump_view.h"

#include <netinet/in.h>

#include <map>

#include "dataplane/conntrack/conntrack_table.h"
#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/xdp/flow_listing.h"
#include "ops/age_text.h"
#include "ops/table_text.h"
#include "state/compile.h"

namespace portway::ops {
namespace {

using nlohmann::json;

config::Protocol protocol_of(std::uint8_t ipproto) {
  return ipproto == IPPROTO_UDP ? config::Protocol::udp : config::Protocol::tcp;
}

std::string proto_text(std::uint8_t ipproto) { return std::string(config::to_string(protocol_of(ipproto))); }

std::string address_text(const net::IpAddress& a) { return state::to_string(a); }

// "198.18.0.2:80", "[2001:2::2]:80".
std::string endpoint_text(const net::IpAddress& a, std::uint16_t port) {
  const std::string addr = std::holds_alternative<net::Ipv6>(a) ? "[" + address_text(a) + "]" : address_text(a);
  return addr + ":" + std::to_string(port);
}

// Who the kernel's objects belong to. The fast path keeps Service ids in its metadata maps and
// the nft read-back knows those the store compiles to (learn_names); a set named otherwise
// (nft-set-HEX: a Service the store no longer has) is placed by its members' addresses, which
// belong to one Service's set only (dataplane::attribute does the same for counters).
class Names {
 public:
  explicit Names(const KernelDump& d) : d_(d) {
    for (const auto& s : d.services) services_[s.id] = &s;
    for (const auto& set : d.compiled.backend_sets())
      for (const auto& m : set.members) set_of_member_[m.key()] = set.id;
  }

  std::string set_service(const std::string& set_id) const {
    if (services_.count(set_id)) return set_id;
    if (const auto* set = d_.installed.find_backend_set(set_id))
      for (const auto& m : set->members)
        if (const auto it = set_of_member_.find(m.key()); it != set_of_member_.end()) return it->second;
    return "";
  }

  // {"id","app","service"[,"port"]} or null.
  json service(const std::string& id, const std::string* port = nullptr) const {
    if (id.empty()) return nullptr;
    const auto it = services_.find(id);
    json j{{"id", id},
           {"app", it != services_.end() ? json(it->second->app) : json(nullptr)},
           {"service", it != services_.end() ? json(it->second->service) : json(nullptr)}};
    if (port) j["port"] = port->empty() ? json(nullptr) : json(*port);
    return j;
  }

  template <class Entry>  // state::Frontend or state::NodePort
  json of(const Entry& e) const {
    std::string id = set_service(e.backend_set);
    std::string port = e.port_name;
    if (const auto* c = d_.compiled.find(e.key)) {
      if (id.empty()) id = c->backend_set;
      if (port.empty()) port = c->port_name;
    }
    return service(id, &port);
  }

 private:
  const KernelDump& d_;
  std::map<std::string, const store::ServiceRecord*> services_;
  std::map<state::MemberKey, std::string> set_of_member_;
};

std::string service_text(const json& s) {
  if (s.is_null()) return "-";
  std::string t = s["id"].get<std::string>();
  if (s.contains("port") && s["port"].is_string()) t += " port " + s["port"].get<std::string>();
  return t;
}

json members_count(const state::BackendSet* set) {
  std::size_t running = 0, draining = 0;
  if (set)
    for (const auto& m : set->members) (m.state == state::MemberState::running ? running : draining)++;
  return {{"running", running}, {"draining", draining}};
}

// The installed frontend or node port a flow's destination is, with its backend set; the
// frontend's key text. Null set when the flow is not to a portway frontend.
struct FlowOwner {
  const std::string* set = nullptr;
  json service;
};

FlowOwner owner_of(const KernelDump& d, const Names& names, const dataplane::ListedFlow& f, bool require_member) {
  const config::Protocol proto = protocol_of(f.protocol);
  if (const auto* fe = d.installed.find(state::FrontendKey{f.frontend, f.frontend_port, proto}))
    return {&fe->backend_set, names.of(*fe)};
  if (const auto* np = d.installed.find(state::NodePortKey{f.frontend_port, proto})) {
    if (!require_member) return {&np->backend_set, names.of(*np)};
    if (const auto* set = d.installed.find_backend_set(np->backend_set))
      for (const auto& m : set->members)
        if ((m.ipv4 && net::IpAddress{*m.ipv4} == f.backend) || (m.ipv6 && net::IpAddress{*m.ipv6} == f.backend)) return {&np->backend_set, names.of(*np)};
  }
  return {};
}

}  // namespace

KernelDump read_kernel_dump(const ActiveDataplane& active, store::Store* store) {
  KernelDump d;
  d.dataplane = std::string(dataplane::to_string(*active.kind));
  if (store) {
    auto tx = store->begin_read();
    d.compiled = state::compile(state::read_snapshot(*tx));
    d.services = tx->services();
  }
  if (auto* nft = dynamic_cast<dataplane::nft::NftDataplane*>(active.dataplane.get())) nft->learn_names(d.compiled);
  d.installed = active.dataplane->installed();
  return d;
}

std::vector<dataplane::ListedFlow> read_flows(const ActiveDataplane& active, const config::NodeSettings& settings) {
  if (active.kind == dataplane::Kind::xdp)
    return dataplane::xdp::read_flows({settings.bpffs_dir}).value_or(std::vector<dataplane::ListedFlow>{});
  return dataplane::conntrack::ConntrackTable().listed_flows();
}

std::vector<dataplane::ListedFlow> portway_flows(const KernelDump& d, std::vector<dataplane::ListedFlow> flows) {
  const Names names(d);
  const bool conntrack = d.dataplane == "nft";
  std::erase_if(flows, [&](const auto& f) { return owner_of(d, names, f, conntrack).set == nullptr; });
  return flows;
}

json frontends_json(const KernelDump& d) {
  const Names names(d);
  json list = json::array();
  for (const auto& f : d.installed.frontends()) {
    list.push_back({{"frontend", state::to_string(f.key)},
                    {"address", state::to_string(f.key.address)},
                    {"port", f.key.port},
                    {"protocol", config::to_string(f.key.protocol)},
                    {"node_port", false},
                    {"target_port", f.target_port},
                    {"backend_set", f.backend_set},
                    {"backends", members_count(d.installed.find_backend_set(f.backend_set))},
                    {"service", names.of(f)}});
  }
  for (const auto& n : d.installed.node_ports()) {
    list.push_back({{"frontend", state::to_string(n.key)},
                    {"address", nullptr},
                    {"port", n.key.node_port},
                    {"protocol", config::to_string(n.key.protocol)},
                    {"node_port", true},
                    {"target_port", n.target_port},
                    {"backend_set", n.backend_set},
                    {"backends", members_count(d.installed.find_backend_set(n.backend_set))},
                    {"service", names.of(n)}});
  }
  return {{"dataplane", d.dataplane}, {"frontends", std::move(list)}};
}

std::string frontends_text(const KernelDump& d) {
  std::vector<TextRow> rows{{"FRONTEND", "TARGET", "BACKENDS", "SERVICE"}};
  const json j = frontends_json(d);
  for (const auto& f : j["frontends"]) {
    const json& b = f["backends"];
    std::string backends = b["running"].dump() + " running";
    if (b["draining"].get<std::size_t>() > 0) backends += ", " + b["draining"].dump() + " draining";
    rows.push_back({f["frontend"].get<std::string>(), f["target_port"].dump(), backends, service_text(f["service"])});
  }
  return table_text(rows);
}

json backends_json(const KernelDump& d) {
  const Names names(d);
  json list = json::array();
  for (const auto& set : d.installed.backend_sets()) {
    const json service = names.service(names.set_service(set.id));
    for (const auto& m : set.members) {
      list.push_back({{"backend_set", set.id},
                      {"address", m.ipv4 ? json(net::to_string(*m.ipv4)) : json(nullptr)},
                      {"ipv6", m.ipv6 ? json(net::to_string(*m.ipv6)) : json(nullptr)},
                      {"state", state::to_string(m.state)},
                      {"service", service}});
    }
  }
  return {{"dataplane", d.dataplane}, {"backends", std::move(list)}};
}

std::string backends_text(const KernelDump& d) {
  std::vector<TextRow> rows{{"BACKEND", "STATE", "SET", "SERVICE"}};
  const json j = backends_json(d);
  for (const auto& b : j["backends"]) {
    std::string addr = b["address"].is_string() ? b["address"].get<std::string>() : "";
    if (b["ipv6"].is_string()) addr += (addr.empty() ? "" : ", ") + b["ipv6"].get<std::string>();
    rows.push_back({addr, b["state"].get<std::string>(), b["backend_set"].get<std::string>(), service_text(b["service"])});
  }
  return table_text(rows);
}

json flows_json(const KernelDump& d, const std::vector<dataplane::ListedFlow>& flows) {
  const Names names(d);
  const bool conntrack = d.dataplane == "nft";
  json list = json::array();
  for (const auto& f : flows) {
    list.push_back({{"protocol", proto_text(f.protocol)},
                    {"client", address_text(f.client)},
                    {"client_port", f.client_port},
                    {"frontend", address_text(f.frontend)},
                    {"frontend_port", f.frontend_port},
                    {"backend", address_text(f.backend)},
                    {"backend_port", f.backend_port},
                    {"snat", f.snat ? json(address_text(*f.snat)) : json(nullptr)},
                    {"state", f.state.empty() ? json(nullptr) : json(f.state)},
                    {"idle_ms", f.idle ? json(f.idle->count()) : json(nullptr)},
                    {"expires_s", f.expires ? json(f.expires->count()) : json(nullptr)},
                    {"service", owner_of(d, names, f, conntrack).service}});
  }
  return {{"dataplane", d.dataplane}, {"flows", std::move(list)}};
}

std::string flows_text(const KernelDump& d, const std::vector<dataplane::ListedFlow>& flows) {
  const Names names(d);
  const bool conntrack = d.dataplane == "nft";
  std::vector<TextRow> rows{{"PROTO", "CLIENT", "FRONTEND", "BACKEND", "STATE", "AGE", "SERVICE"}};
  for (const auto& f : flows) {
    std::string backend = endpoint_text(f.backend, f.backend_port);
    if (f.snat) backend += " (client as " + address_text(*f.snat) + ")";
    std::string age = f.idle ? "idle " + duration_text(f.idle->count())
                      : f.expires ? "expires in " + duration_text(f.expires->count() * 1000)
                                  : "-";
    rows.push_back({proto_text(f.protocol), endpoint_text(f.client, f.client_port),
                    endpoint_text(f.frontend, f.frontend_port), backend, f.state.empty() ? "-" : f.state, age,
                    service_text(owner_of(d, names, f, conntrack).service)});
  }
  return table_text(rows);
}

json drops_json(const std::string& dataplane, const std::map<std::string, std::uint64_t>& drops) {
  return {{"dataplane", dataplane}, {"drops", drops}};
}

std::string drops_text(const std::map<std::string, std::uint64_t>& drops) {
  std::vector<TextRow> rows{{"REASON", "PACKETS"}};
  for (const auto& [reason, n] : drops)
    if (n) rows.push_back({reason, std::to_string(n)});
  if (rows.size() == 1) return "no drops counted\n";
  return table_text(rows);
}

}  // namespace portway::ops
