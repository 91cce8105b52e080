// The resolved form of one app.toml (docs/config.md): what the rest of portway consumes.
// Pure values, no TOML types, so the model and the dataplane compiler never see the parser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portway::config {

enum class PortType : std::uint8_t { http, tcp, udp };
// The address families of a Service's addresses (docs/model.md "Address families").
enum class IpFamily : std::uint8_t { ipv4, ipv6 };
std::string_view to_string(IpFamily f);                  // "ipv4", "ipv6"
std::optional<IpFamily> parse_ip_family(std::string_view s);
enum class Protocol : std::uint8_t { tcp, udp };

std::string_view to_string(PortType t);
std::string_view to_string(Protocol p);
std::optional<PortType> parse_port_type(std::string_view s);  // case-sensitive, like Miren
std::optional<Protocol> parse_protocol(std::string_view s);

// Protocol is derived, never declared: udp iff the type is udp (http rides on TCP).
constexpr Protocol protocol_of(PortType t) { return t == PortType::udp ? Protocol::udp : Protocol::tcp; }

struct Port {
  std::string name;
  std::uint16_t port = 0;       // listen port in the sandbox == service port == DNAT target
  PortType type = PortType::http;
  Protocol protocol = Protocol::tcp;
  std::uint16_t node_port = 0;  // 0 = none
  bool implicit = false;        // the web service's default {3000, "http", http}

  bool operator==(const Port&) const = default;
};

struct Service {
  std::string name;
  std::vector<Port> ports;      // file order; shorthand expanded; implicit web port last
  bool shorthand = false;       // declared with port/port_name/port_type
  bool l4_service = false;      // needs an L4 Service entity (docs/model.md "Service entities")
  std::optional<std::uint16_t> port_env;  // the PORT value handed to the process
  // `ip_families`, in file order, no repeats; empty (omitted): every family the node has a
  // service range for.
  std::vector<IpFamily> ip_families;

  bool operator==(const Service&) const = default;
};

struct App {
  std::string name;
  std::vector<Service> services;  // file order

  bool operator==(const App&) const = default;
  const Service* find_service(std::string_view service) const;
};

}  // namespace portway::config
