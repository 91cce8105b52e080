#include "config/app_model.h"

#include <algorithm>

namespace portway::config {

std::string_view to_string(PortType t) {
  switch (t) {
    case PortType::http: return "http";
    case PortType::tcp: return "tcp";
    case PortType::udp: return "udp";
  }
  return "?";
}

std::string_view to_string(Protocol p) { return p == Protocol::udp ? "udp" : "tcp"; }

std::optional<PortType> parse_port_type(std::string_view s) {
  if (s == "http") return PortType::http;
  if (s == "tcp") return PortType::tcp;
  if (s == "udp") return PortType::udp;
  return std::nullopt;
}

std::optional<Protocol> parse_protocol(std::string_view s) {
  if (s == "tcp") return Protocol::tcp;
  if (s == "udp") return Protocol::udp;
  return std::nullopt;
}

std::string_view to_string(IpFamily f) { return f == IpFamily::ipv6 ? "ipv6" : "ipv4"; }

std::optional<IpFamily> parse_ip_family(std::string_view s) {
  if (s == "ipv4") return IpFamily::ipv4;
  if (s == "ipv6") return IpFamily::ipv6;
  return std::nullopt;
}

const Service* App::find_service(std::string_view service) const {
  auto it = std::find_if(services.begin(), services.end(),
                         [&](const Service& s) { return s.name == service; });
  return it == services.end() ? nullptr : &*it;
}

}  // namespace portway::config
