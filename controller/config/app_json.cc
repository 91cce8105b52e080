#include "config/app_json.h"

namespace portway::config {

nlohmann::json to_json(const Port& port) {
  return {
      {"name", port.name},
      {"port", port.port},
      {"type", to_string(port.type)},
      {"protocol", to_string(port.protocol)},
      {"node_port", port.node_port},
      {"implicit", port.implicit},
  };
}

nlohmann::json to_json(const Service& service) {
  nlohmann::json ports = nlohmann::json::array();
  for (const Port& p : service.ports) ports.push_back(to_json(p));
  nlohmann::json families = nlohmann::json::array();
  for (const IpFamily f : service.ip_families) families.push_back(to_string(f));
  return {
      {"name", service.name},
      {"ports", std::move(ports)},
      {"shorthand", service.shorthand},
      {"l4_service", service.l4_service},
      {"port_env", service.port_env ? nlohmann::json(*service.port_env) : nlohmann::json(nullptr)},
      {"ip_families", std::move(families)},
  };
}

nlohmann::json to_json(const App& app) {
  nlohmann::json services = nlohmann::json::array();
  for (const Service& s : app.services) services.push_back(to_json(s));
  return {{"name", app.name}, {"services", std::move(services)}};
}

nlohmann::json to_json(const Diagnostic& d) {
  return {{"line", d.line}, {"col", d.col}, {"path", d.path}, {"message", d.message}};
}

}  // namespace portway::config
