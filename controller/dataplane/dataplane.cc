#include "dataplane/dataplane.h"

#include <unordered_map>

namespace portway::dataplane {

std::string_view to_string(Kind k) { return k == Kind::xdp ? "xdp" : "nft"; }

namespace {

// The frontends key both dataplanes use for a node port ("node:6697/tcp").
std::string node_port_key(const state::NodePortKey& k) {
  return "node:" + std::to_string(k.node_port) + "/" + std::string(config::to_string(k.protocol));
}

}  // namespace

void attribute(Stats& stats, const state::DataplaneState& programmed) {
  std::unordered_map<std::string, FrontendOwner> frontends;
  for (const auto& f : programmed.frontends())
    frontends[state::to_string(f.key)] = {f.backend_set, f.port_name, std::string(config::to_string(f.key.protocol))};
  for (const auto& n : programmed.node_ports())
    frontends[node_port_key(n.key)] = {n.backend_set, n.port_name, std::string(config::to_string(n.key.protocol))};
  for (const auto& [key, counters] : stats.frontends)
    if (const auto it = frontends.find(key); it != frontends.end()) stats.frontend_owners[key] = it->second;

  std::unordered_map<std::string, std::string> set_of_address;
  for (const auto& set : programmed.backend_sets())
    for (const auto& m : set.members) set_of_address.emplace(state::to_string(m.key().primary()), set.id);
  std::map<std::string, TrafficCounters> backends;
  for (auto& [key, counters] : stats.backends) {
    const auto space = key.rfind(' ');
    const std::string set = space == std::string::npos ? "" : key.substr(0, space);
    const std::string address = key.substr(space == std::string::npos ? 0 : space + 1);
    std::string service;
    if (programmed.find_backend_set(set))
      service = set;
    else if (const auto it = set_of_address.find(address); it != set_of_address.end())
      service = it->second;
    if (service.empty()) {
      backends[key] = counters;
      continue;
    }
    const std::string placed = service + " " + address;
    backends[placed] = counters;
    stats.backend_owners[placed] = {service, address};
  }
  stats.backends = std::move(backends);
}

}  // namespace portway::dataplane
