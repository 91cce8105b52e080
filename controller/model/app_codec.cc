#include "model/app_codec.h"

#include <nlohmann/json.hpp>

#include "config/app_json.h"
#include "store/store.h"

namespace portway::model {
namespace {

using nlohmann::json;

[[noreturn]] void corrupt(const std::string& what) {
  throw store::StoreError("corrupt app record in the state database: " + what);
}

const json& field(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) corrupt(std::string("missing \"") + key + "\"");
  return j.at(key);
}

std::string text(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_string()) corrupt(std::string("\"") + key + "\" is not a string");
  return v.get<std::string>();
}

bool flag(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_boolean()) corrupt(std::string("\"") + key + "\" is not a boolean");
  return v.get<bool>();
}

std::uint16_t port_number(const json& v, const char* key) {
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 65535) {
    corrupt(std::string("\"") + key + "\" is not a port number");
  }
  return static_cast<std::uint16_t>(v.get<std::uint64_t>());
}

config::Port decode_port(const json& j) {
  config::Port p;
  p.name = text(j, "name");
  p.port = port_number(field(j, "port"), "port");
  const auto type = config::parse_port_type(text(j, "type"));
  const auto protocol = config::parse_protocol(text(j, "protocol"));
  if (!type || !protocol) corrupt("bad port type or protocol");
  p.type = *type;
  p.protocol = *protocol;
  p.node_port = port_number(field(j, "node_port"), "node_port");
  p.implicit = flag(j, "implicit");
  return p;
}

config::Service decode_service(const json& j) {
  config::Service s;
  s.name = text(j, "name");
  const json& ports = field(j, "ports");
  if (!ports.is_array()) corrupt("\"ports\" is not an array");
  for (const json& p : ports) s.ports.push_back(decode_port(p));
  s.shorthand = flag(j, "shorthand");
  s.l4_service = flag(j, "l4_service");
  const json& env = field(j, "port_env");
  if (!env.is_null()) s.port_env = port_number(env, "port_env");
  // Absent in apps stored before ip_families existed: every family, as then.
  if (j.contains("ip_families")) {
    const json& families = j.at("ip_families");
    if (!families.is_array()) corrupt("\"ip_families\" is not an array");
    for (const json& f : families) {
      const auto family = f.is_string() ? config::parse_ip_family(f.get<std::string>()) : std::nullopt;
      if (!family) corrupt("bad ip_families entry");
      s.ip_families.push_back(*family);
    }
  }
  return s;
}

}  // namespace

std::string encode_app(const config::App& app) { return config::to_json(app).dump(); }

config::App decode_app(std::string_view text_json) {
  const json j = json::parse(text_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) corrupt("not JSON");
  config::App app;
  app.name = text(j, "name");
  const json& services = field(j, "services");
  if (!services.is_array()) corrupt("\"services\" is not an array");
  for (const json& s : services) app.services.push_back(decode_service(s));
  return app;
}

}  // namespace portway::model
