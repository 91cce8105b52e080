#include "ops/service_view.h"

namespace portway::ops {
namespace {

using nlohmann::json;

json addresses_json(const store::ServiceRecord& s) {
  json a = json::array();
  if (s.ipv4) a.push_back(net::to_string(*s.ipv4));
  if (s.ipv6) a.push_back(net::to_string(*s.ipv6));
  return a;
}

json labels_json(const store::Labels& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

// An IPv4 address, or null for a sandbox with only an IPv6 one.
json optional_address(const std::optional<net::Ipv4>& a) { return a ? json(net::to_string(*a)) : json(nullptr); }

// "198.18.1.2", "198.18.1.2, 2001:2::2" or "2001:2::2".
template <class Record>
std::string addresses_text(const Record& r, const char* separator) {
  std::string out = r.ipv4 ? net::to_string(*r.ipv4) : "";
  if (r.ipv6) out += (out.empty() ? "" : separator) + net::to_string(*r.ipv6);
  return out;
}

std::string port_text(const store::ServicePort& p) {
  std::string t = p.name + " " + std::to_string(p.port) + "/" + std::string(config::to_string(p.protocol));
  if (p.type == config::PortType::http) t += " (http)";
  if (p.target_port != p.port) t += " -> " + std::to_string(p.target_port);
  if (p.node_port != 0) t += " node_port " + std::to_string(p.node_port);
  return t;
}

}  // namespace

json service_json(const store::ServiceRecord& s, const model::EndpointIndex& endpoints) {
  json ports = json::array();
  for (const auto& p : s.ports) {
    ports.push_back({{"name", p.name},
                     {"port", p.port},
                     {"target_port", p.target_port},
                     {"protocol", config::to_string(p.protocol)},
                     {"type", config::to_string(p.type)},
                     {"node_port", p.node_port}});
  }
  json eps = json::array();
  for (const auto* sb : endpoints.of(s.selector)) {
    eps.push_back({{"sandbox", sb->id},
                   {"address", optional_address(sb->ipv4)},
                   {"ipv6", sb->ipv6 ? json(net::to_string(*sb->ipv6)) : json(nullptr)},
                   {"iface", sb->iface},
                   {"state", store::to_string(sb->state)}});
  }
  return {{"id", s.id},
          {"app", s.app},
          {"service", s.service},
          {"addresses", addresses_json(s)},
          {"ports", std::move(ports)},
          {"labels", labels_json(s.labels)},
          {"selector", {{"app", s.selector.app}, {"service", s.selector.service}}},
          {"revision", s.revision},
          {"endpoints", std::move(eps)}};
}

json sandbox_json(const store::SandboxRecord& s) {
  return {{"id", s.id},
          {"app", s.app},
          {"service", s.service},
          {"address", optional_address(s.ipv4)},
          {"ipv6", s.ipv6 ? json(net::to_string(*s.ipv6)) : json(nullptr)},
          {"iface", s.iface},
          {"labels", labels_json(s.labels)},
          {"state", store::to_string(s.state)},
          {"changed_at_ms", s.changed_at_ms}};
}

std::string service_text(const store::ServiceRecord& s, const model::EndpointIndex& endpoints) {
  std::string out = s.id + "  " + addresses_text(s, ", ");
  out += "\n  ports:";
  for (std::size_t i = 0; i < s.ports.size(); ++i) out += (i ? ", " : " ") + port_text(s.ports[i]);
  out += "\n  endpoints:";
  const auto eps = endpoints.of(s.selector);
  if (eps.empty()) out += " none";
  for (std::size_t i = 0; i < eps.size(); ++i) {
    out += (i ? ", " : " ") + eps[i]->id + " " + addresses_text(*eps[i], "/") + " " +
           std::string(store::to_string(eps[i]->state));
  }
  return out + "\n";
}

std::string sandbox_text(const store::SandboxRecord& s) {
  std::string out = s.id + "  " + s.app + "/" + s.service + "  " + addresses_text(s, ", ");
  if (!s.iface.empty()) out += "  via " + s.iface;
  return out + "  " + std::string(store::to_string(s.state)) + "\n";
}

ServiceListing list_services(store::Store* store) {
  ServiceListing out;
  if (!store) return out;
  auto tx = store->begin_read();
  out.services = tx->services();
  out.sandboxes = tx->sandboxes();
  return out;
}

json services_json(const ServiceListing& listing) {
  const model::EndpointIndex endpoints(listing.sandboxes);
  json list = json::array();
  for (const auto& s : listing.services) list.push_back(service_json(s, endpoints));
  return {{"services", std::move(list)}};
}

std::string dump(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace portway::ops
