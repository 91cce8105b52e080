// app.toml text for the tests, built from a list of ports instead of written out by hand in
// every test. The keys come in the order the hand-written texts had them (name = "<app>" on
// line 1, then per port: [[services.<service>.ports]], port, name, type, node_port), so the
// lines and columns parser errors point at are those of the equivalent hand-written text.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace portway::testing {

struct PortText {
  // An empty type leaves the key out (the port is then http); node_port 0 leaves it out too.
  PortText(std::string_view service_name, int number, std::string_view port_name,
           std::string_view type_name = "", int node_port_number = 0)
      : service(service_name), port(number), name(port_name), type(type_name),
        node_port(node_port_number) {}

  std::string service;
  int port;
  std::string name;
  std::string type;
  int node_port;
};

// name = "<app>", then the ports.
std::string app_text(std::string_view app, std::initializer_list<PortText> ports);

// Only the [[services.<service>.ports]] tables, to follow other hand-written lines.
std::string ports_text(std::initializer_list<PortText> ports);

}  // namespace portway::testing
