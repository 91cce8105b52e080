#include "model_support/app_text.h"

namespace portway::testing {

std::string app_text(std::string_view app, std::initializer_list<PortText> ports) {
  return "name = \"" + std::string(app) + "\"\n" + ports_text(ports);
}

std::string ports_text(std::initializer_list<PortText> ports) {
  std::string out;
  for (const PortText& p : ports) {
    out += "[[services." + p.service + ".ports]]\nport = " + std::to_string(p.port) +
           "\nname = \"" + p.name + "\"\n";
    if (!p.type.empty()) out += "type = \"" + p.type + "\"\n";
    if (p.node_port) out += "node_port = " + std::to_string(p.node_port) + "\n";
  }
  return out;
}

}  // namespace portway::testing
