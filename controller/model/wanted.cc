#include "model/wanted.h"

#include <algorithm>

namespace portway::model {

std::string service_id(std::string_view app, std::string_view service) {
  std::string id = "svc/";
  id.append(app).append("/").append(service);
  return id;
}

std::vector<WantedService> wanted_services(const config::App& app) {
  std::vector<WantedService> out;
  for (const config::Service& s : app.services) {
    if (!s.l4_service) continue;
    WantedService w;
    w.id = service_id(app.name, s.name);
    w.app = app.name;
    w.service = s.name;
    w.labels = {{"app", app.name}, {"service", s.name}, {"managed-by", std::string(kManagedBy)}};
    w.selector = {app.name, s.name};
    // All ports, http included: the Service address answers on every declared port (the
    // dataplane forwards http ones as plain L4), and `type` tells consumers which is which.
    for (const config::Port& p : s.ports) {
      w.ports.push_back({p.name, p.port, p.port, p.protocol, p.type, p.node_port});
    }
    w.ip_families = s.ip_families;
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<store::NodePortClaim> wanted_claims(const config::App& app) {
  std::vector<store::NodePortClaim> out;
  for (const config::Service& s : app.services) {
    for (const config::Port& p : s.ports) {
      if (p.node_port != 0) out.push_back({p.node_port, p.protocol, app.name, s.name});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.node_port, a.protocol) < std::tie(b.node_port, b.protocol);
  });
  return out;
}

}  // namespace portway::model
