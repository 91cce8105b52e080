#include "config/app_parser.h"

#include <algorithm>
#include <map>

#include "config/key_schema.h"
#include "config/name_rules.h"
#include "config/text_input.h"
#include "config/toml_access.h"

namespace portway::config {
namespace {

constexpr std::uint16_t kImplicitWebPort = 3000;

// One port entry as written, before cross-entry rules: each field is set only when it passed
// its own rule, so later rules (V6-V8) never pile a second error onto a broken field.
struct PortDraft {
  std::string path;  // services.<svc>.ports[<i>] or services.<svc> for the shorthand
  Position where;
  std::optional<std::uint16_t> port;
  Position port_at;
  std::optional<std::string> name;
  Position name_at;
  std::optional<PortType> type;
  std::optional<std::uint16_t> node_port;
  Position node_port_at;
  bool valid = true;
};

struct ServiceDraft {
  std::string name;
  std::string path;
  bool name_valid = true;
  bool shorthand = false;
  std::vector<PortDraft> ports;
  std::vector<IpFamily> ip_families;
};

class AppParser {
 public:
  AppParser(const std::string& file, const ValidationOptions& options)
      : file_(file), options_(options) {}

  ParseOutcome run(std::string_view text) {
    ParseOutcome out;
    auto parsed = parse_toml_text(text, file_, out.errors);
    if (!parsed) return out;
    const toml::table& root = *parsed;

    App app;
    read_app(root, app);
    check_node_ports_across_services();
    sort_diagnostics(errors_);
    out.errors = std::move(errors_);
    if (out.errors.empty()) out.app = resolve(app);
    return out;
  }

 private:
  void error(Position at, std::string path, std::string message) {
    errors_.push_back({file_, at.line, at.col, std::move(path), std::move(message)});
  }

  void unknown_key(KeyLevel level, const toml::key& key, const std::string& path) {
    std::string msg = "unknown key " + quoted(key.str());
    if (auto hint = suggest_key(level, key.str()))
      msg += "; did you mean " + quoted(*hint) + "?";
    error(position_of(key), path, std::move(msg));
  }

  void read_app(const toml::table& root, App& app) {
    const toml::node* services = nullptr;
    bool have_name = false;
    for (auto [key, node] : entries_in_file_order(root)) {
      const std::string path = join_path("", key->str());
      switch (classify_key(KeyLevel::app, key->str())) {
        case KeyKind::unknown: unknown_key(KeyLevel::app, *key, path); continue;
        case KeyKind::preserved: continue;
        case KeyKind::interpreted: break;
      }
      if (key->str() == "name") {
        have_name = true;
        if (auto name = read_name(*node, path, "app name")) app.name = *name;
      } else {
        services = node;
      }
    }
    if (!have_name) error({1, 1}, "name", "name is required (the app name)");
    if (services) read_services(*services);
  }

  // V11 for app and service names; returns the name when it is valid.
  std::optional<std::string> read_name(const toml::node& node, const std::string& path,
                                       std::string_view what) {
    const auto* s = node.as_string();
    if (!s) {
      error(position_of(node), path,
            std::string(what) + " must be a string (got " + std::string(type_phrase(node)) + ")");
      return std::nullopt;
    }
    if (!is_dns_label(s->get())) {
      error(position_of(node), path,
            "invalid " + std::string(what) + " " + quoted(s->get()) + ": must be a DNS label (" +
                std::string(kDnsLabelRule) + ")");
      return std::nullopt;
    }
    return s->get();
  }

  void read_services(const toml::node& node) {
    const auto* table = node.as_table();
    if (!table) {
      error(position_of(node), "services",
            "services must be a table of services (got " + std::string(type_phrase(node)) + ")");
      return;
    }
    for (auto [key, svc_node] : entries_in_file_order(*table)) {
      ServiceDraft svc;
      svc.name = key->str();
      svc.path = join_path("services", svc.name);
      if (!is_dns_label(svc.name)) {
        svc.name_valid = false;
        error(position_of(*key), svc.path,
              "invalid service name " + quoted(svc.name) + ": must be a DNS label (" +
                  std::string(kDnsLabelRule) + ")");
      }
      const auto* svc_table = svc_node->as_table();
      if (!svc_table) {
        error(position_of(*svc_node), svc.path,
              "a service must be a table (got " + std::string(type_phrase(*svc_node)) + ")");
        continue;
      }
      read_service(*svc_table, position_of(*key), svc);
      services_.push_back(std::move(svc));
    }
  }

  void read_service(const toml::table& table, Position svc_at, ServiceDraft& svc) {
    const toml::node* ports = nullptr;
    std::vector<std::pair<const toml::key*, const toml::node*>> shorthand;
    for (auto [key, node] : entries_in_file_order(table)) {
      const std::string path = join_path(svc.path, key->str());
      switch (classify_key(KeyLevel::service, key->str())) {
        case KeyKind::unknown: unknown_key(KeyLevel::service, *key, path); continue;
        case KeyKind::preserved: continue;
        case KeyKind::interpreted: break;
      }
      if (key->str() == "ports") {
        ports = node;
      } else if (key->str() == "ip_families") {
        read_ip_families(*node, path, svc);
      } else {
        shorthand.emplace_back(key, node);
      }
    }

    const toml::array* port_array = nullptr;
    if (ports) {
      port_array = ports->as_array();
      // V12: `ports = 5`, `ports = [6667]` and `[services.x.ports]` (a table, not an array
      // of tables) all land here.
      if (!port_array || !std::all_of(port_array->begin(), port_array->end(),
                                      [](const toml::node& n) { return n.is_table(); })) {
        error(position_of(*ports), join_path(svc.path, "ports"),
              "ports must be an array of tables ([[" + svc.path + ".ports]]), got " +
                  std::string(port_array ? "an array with non-table elements"
                                         : type_phrase(*ports)));
        port_array = nullptr;
      }
    }

    const bool has_ports = port_array && !port_array->empty();
    if (has_ports && !shorthand.empty()) {
      // V1: any value counts as present, even 0: a zero-value check would let `port = 0` mix.
      for (auto [key, node] : shorthand)
        error(position_of(*key), join_path(svc.path, key->str()),
              "cannot mix `ports` with the single-port shorthand (port, port_name, port_type); "
              "move this into a [[" + svc.path + ".ports]] entry");
    }

    if (port_array) {
      std::size_t i = 0;
      for (const toml::node& entry : *port_array) {
        svc.ports.push_back(read_port(*entry.as_table(), svc, i));
        ++i;
      }
    }
    if (!has_ports && !shorthand.empty()) {
      svc.shorthand = true;
      svc.ports.push_back(read_shorthand(shorthand, svc_at, svc));
    }
    check_within_service(svc);
  }

  // ip_families = ["ipv4"] | ["ipv6"] | ["ipv4", "ipv6"] (docs/model.md "Address families").
  void read_ip_families(const toml::node& node, const std::string& path, ServiceDraft& svc) {
    const std::string rule = "ip_families must be a non-empty array of \"ipv4\" and \"ipv6\", each at most once";
    const auto* array = node.as_array();
    if (!array || array->empty()) {
      error(position_of(node), path, rule + " (got " + std::string(array ? "an empty array" : type_phrase(node)) + ")");
      return;
    }
    std::vector<IpFamily> families;
    for (const toml::node& entry : *array) {
      const auto* s = entry.as_string();
      const auto family = s ? parse_ip_family(s->get()) : std::nullopt;
      if (!family) {
        error(position_of(entry), path, rule + " (got " + (s ? quoted(s->get()) : std::string(type_phrase(entry))) + ")");
        return;
      }
      if (std::find(families.begin(), families.end(), *family) != families.end()) {
        error(position_of(entry), path, rule + " (" + quoted(s->get()) + " is given twice)");
        return;
      }
      families.push_back(*family);
    }
    svc.ip_families = std::move(families);
  }

  std::optional<std::uint16_t> read_port_number(const toml::node& node, const std::string& path,
                                                std::int64_t min, std::string_view rule) {
    const auto* v = node.as_integer();
    if (!v) {
      error(position_of(node), path,
            std::string(rule) + " (got " + std::string(type_phrase(node)) + ")");
      return std::nullopt;
    }
    if (v->get() < min || v->get() > 65535) {
      error(position_of(node), path, std::string(rule) + " (got " + std::to_string(v->get()) + ")");
      return std::nullopt;
    }
    return static_cast<std::uint16_t>(v->get());
  }

  std::optional<PortType> read_type(const toml::node& node, const std::string& path) {
    constexpr std::string_view rule = "must be \"http\", \"tcp\" or \"udp\"";
    const std::string what = path.ends_with("port_type") ? "port_type " : "type ";
    const auto* s = node.as_string();
    if (!s) {
      error(position_of(node), path,
            what + std::string(rule) + " (got " + std::string(type_phrase(node)) + ")");
      return std::nullopt;
    }
    auto type = parse_port_type(s->get());
    if (!type) error(position_of(node), path, what + std::string(rule) + " (got " + quoted(s->get()) + ")");
    return type;
  }

  PortDraft read_port(const toml::table& table, const ServiceDraft& svc, std::size_t index) {
    PortDraft p;
    p.path = svc.path + ".ports[" + std::to_string(index) + "]";
    p.where = position_of(table);
    p.type = PortType::http;  // omitted type is http, for the sandbox and the L4 decision alike
    bool have_port = false, have_name = false;
    for (auto [key, node] : entries_in_file_order(table)) {
      const std::string path = p.path + "." + std::string(key->str());
      if (classify_key(KeyLevel::port, key->str()) == KeyKind::unknown) {
        unknown_key(KeyLevel::port, *key, path);
        p.valid = false;
        continue;
      }
      if (key->str() == "port") {
        have_port = true;
        p.port_at = position_of(*node);
        p.port = read_port_number(*node, path, 1, "port must be between 1 and 65535");
      } else if (key->str() == "name") {
        have_name = true;
        p.name_at = position_of(*node);
        p.name = read_port_name(*node, path);
      } else if (key->str() == "type") {
        p.type = read_type(*node, path);
      } else {
        p.node_port_at = position_of(*node);
        p.node_port = read_port_number(*node, path, 0,
                                       "node_port must be between 0 and 65535 (0 = none)");
        if (p.node_port) check_reserved(*p.node_port, p.node_port_at, path);
        else p.valid = false;
      }
    }
    if (!have_port) error(p.where, p.path + ".port", "port is required: must be between 1 and 65535");
    if (!have_name) error(p.where, p.path + ".name", "name is required");
    if (!p.port || !p.name || !p.type) p.valid = false;
    if (!p.node_port) p.node_port = std::uint16_t{0};
    return p;
  }

  std::optional<std::string> read_port_name(const toml::node& node, const std::string& path) {
    const auto* s = node.as_string();
    if (!s) {
      error(position_of(node), path,
            "name must be a string (got " + std::string(type_phrase(node)) + ")");
      return std::nullopt;
    }
    if (s->get().empty()) {
      error(position_of(node), path, "name is required (it is empty)");
      return std::nullopt;
    }
    if (!is_port_name(s->get())) {
      error(position_of(node), path,
            "invalid port name " + quoted(s->get()) + ": " + std::string(kPortNameRule));
      return std::nullopt;
    }
    return s->get();
  }

  void check_reserved(std::uint16_t node_port, Position at, const std::string& path) {
    const auto& reserved = options_.reserved_node_ports;
    if (node_port == 0 || std::find(reserved.begin(), reserved.end(), node_port) == reserved.end())
      return;
    std::string list;
    for (std::uint16_t r : reserved) list += (list.empty() ? "" : ", ") + std::to_string(r);
    error(at, path,
          "node_port " + std::to_string(node_port) + " is reserved on this node (reserved: " +
              list + ")");
  }

  // V10: the shorthand means one port {port, port_name or the service name, port_type or http}.
  PortDraft read_shorthand(
      const std::vector<std::pair<const toml::key*, const toml::node*>>& keys, Position svc_at,
      const ServiceDraft& svc) {
    PortDraft p;
    p.path = svc.path;
    p.where = svc_at;
    p.type = PortType::http;
    bool have_port = false;
    for (auto [key, node] : keys) {
      const std::string path = join_path(svc.path, key->str());
      if (key->str() == "port") {
        have_port = true;
        p.port_at = position_of(*node);
        p.port = read_port_number(*node, path, 1, "port must be between 1 and 65535");
      } else if (key->str() == "port_type") {
        p.type = read_type(*node, path);
      } else {  // port_name
        p.name_at = position_of(*node);
        p.name = read_port_name(*node, path);
        if (!p.name) p.valid = false;
      }
    }
    if (!have_port)
      error(svc_at, svc.path + ".port",
            "port is required when port_name or port_type is set: must be between 1 and 65535");
    if (!p.name && p.valid) {
      p.name_at = svc_at;
      if (is_port_name(svc.name)) {
        p.name = svc.name;
      } else if (svc.name_valid) {
        // Only the port-name length rule can fail here: service names allow 63 characters.
        error(svc_at, svc.path + ".port_name",
              "the port name defaults to the service name " + quoted(svc.name) +
                  ", which is not a valid port name (" + std::string(kPortNameRule) +
                  "); set port_name");
      }
    }
    if (!p.port || !p.name || !p.type) p.valid = false;
    p.node_port = 0;
    return p;
  }

  // V6, V7, and node ports claimed twice inside one service (V8's single-service case).
  void check_within_service(const ServiceDraft& svc) {
    std::map<std::string, const PortDraft*> names;
    std::map<std::pair<std::uint16_t, Protocol>, const PortDraft*> numbers;
    for (const PortDraft& p : svc.ports) {
      if (p.name) {
        auto [it, fresh] = names.emplace(*p.name, &p);
        if (!fresh)
          error(p.name_at, p.path + ".name",
                "duplicate port name " + quoted(*p.name) + " (also " + it->second->path + ")");
      }
      if (p.port && p.type) {
        const Protocol proto = protocol_of(*p.type);
        auto [it, fresh] = numbers.emplace(std::make_pair(*p.port, proto), &p);
        if (!fresh)
          error(p.port_at, p.path + ".port",
                "duplicate port number " + std::to_string(*p.port) + " (protocol " +
                    std::string(to_string(proto)) + "), also " + it->second->path);
      }
    }
  }

  // V8: a (node_port, protocol) is one forwarding rule on every node address: two owners in
  // one app would make the dataplane pick one silently.
  void check_node_ports_across_services() {
    std::map<std::pair<std::uint16_t, Protocol>, std::pair<const ServiceDraft*, const PortDraft*>>
        owners;
    for (const ServiceDraft& svc : services_) {
      for (const PortDraft& p : svc.ports) {
        if (!p.node_port || *p.node_port == 0 || !p.type) continue;
        const Protocol proto = protocol_of(*p.type);
        auto [it, fresh] = owners.emplace(std::make_pair(*p.node_port, proto), std::make_pair(&svc, &p));
        if (fresh) continue;
        const std::string claim =
            "node_port " + std::to_string(*p.node_port) + "/" + std::string(to_string(proto));
        const auto& [first_svc, first_port] = it->second;
        if (first_svc == &svc)
          error(p.node_port_at, p.path + ".node_port",
                "service " + quoted(svc.name) + " claims " + claim + " twice (" + first_port->path +
                    " and " + p.path + ")");
        else
          error(p.node_port_at, p.path + ".node_port",
                "services " + quoted(first_svc->name) + " and " + quoted(svc.name) +
                    " both claim " + claim);
      }
    }
  }

  App resolve(App app) const {
    for (const ServiceDraft& draft : services_) {
      Service svc;
      svc.name = draft.name;
      svc.shorthand = draft.shorthand;
      svc.ip_families = draft.ip_families;
      for (const PortDraft& p : draft.ports)
        svc.ports.push_back({*p.name, *p.port, *p.type, protocol_of(*p.type), *p.node_port, false});
      add_implicit_web_port(svc);
      svc.l4_service = std::any_of(svc.ports.begin(), svc.ports.end(), [](const Port& p) {
        return p.type != PortType::http || p.node_port != 0;
      });
      auto http = std::find_if(svc.ports.begin(), svc.ports.end(),
                               [](const Port& p) { return p.type == PortType::http; });
      if (http != svc.ports.end()) svc.port_env = http->port;
      else if (!svc.ports.empty()) svc.port_env = svc.ports.front().port;
      app.services.push_back(std::move(svc));
    }
    return app;
  }

  // A service named web is reached over HTTP on $PORT=3000 unless it declares an HTTP port
  // (Miren's convention). The implicit port is left out when it would collide with a declared
  // port (3000/tcp or the name "http"): the declared one wins and nothing is invented.
  static void add_implicit_web_port(Service& svc) {
    if (svc.name != "web") return;
    const bool has_http = std::any_of(svc.ports.begin(), svc.ports.end(),
                                      [](const Port& p) { return p.type == PortType::http; });
    const bool collides = std::any_of(svc.ports.begin(), svc.ports.end(), [](const Port& p) {
      return (p.port == kImplicitWebPort && p.protocol == Protocol::tcp) || p.name == "http";
    });
    if (has_http || collides) return;
    svc.ports.push_back(
        {"http", kImplicitWebPort, PortType::http, Protocol::tcp, 0, /*implicit=*/true});
  }

  const std::string& file_;
  const ValidationOptions& options_;
  std::vector<Diagnostic> errors_;
  std::vector<ServiceDraft> services_;
};

}  // namespace

ParseOutcome parse_app(std::string_view text, const std::string& file,
                       const ValidationOptions& options) {
  return AppParser(file, options).run(text);
}

}  // namespace portway::config
