#include "daemon/api_routes.h"

#include <chrono>
#include <regex>

#include "config/app_json.h"
#include "config/app_parser.h"
#include "config/text_input.h"
#include "daemon/daemon_status_json.h"
#include "model/errors.h"
#include "model/reconcile.h"
#include "model/sandbox_input.h"
#include "model/service_ranges.h"
#include "netlink/addressing.h"
#include "ops/active_dataplane.h"
#include "ops/app_requests.h"
#include "ops/sandbox_requests.h"
#include "ops/service_view.h"
#include "ops/stats_view.h"
#include "ops/status_view.h"
#include "store/sqlite_store.h"

namespace portway::daemon {
namespace {

using nlohmann::json;

// Where apply's diagnostics say the text came from.
constexpr const char* kBodyName = "request body";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ApiResponse ok(int status, json body) { return {status, std::move(body), {}}; }

ApiResponse diagnostics_response(int status, const std::vector<config::Diagnostic>& diagnostics) {
  json errors = json::array();
  for (const auto& d : diagnostics) errors.push_back(config::to_json(d));
  return {status, {{"errors", std::move(errors)}}, {}};
}

ApiResponse field_errors(const std::vector<std::pair<std::string, std::string>>& errors) {
  json list = json::array();
  for (const auto& [field, message] : errors)
    list.push_back({{"line", 0}, {"col", 0}, {"path", field}, {"message", message}});
  return {400, {{"errors", std::move(list)}}, {}};
}

std::unique_ptr<store::Store> open_for_read(const std::string& path) {
  try {
    return store::SqliteStore::open(path, {.create = false});
  } catch (const store::StoreMissingError&) {
    return nullptr;
  }
}

std::unique_ptr<store::Store> open_for_write(const std::string& path) {
  return store::SqliteStore::open(path, {.create = true});
}

// A JSON object body, or a 400 saying why not.
std::optional<json> object_body(const std::string& body, ApiResponse& refusal) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    refusal = error_response(400, {"the body is not valid JSON"});
    return std::nullopt;
  }
  if (!j.is_object()) {
    refusal = error_response(400, {"the body must be a JSON object"});
    return std::nullopt;
  }
  return j;
}

ApiResponse get_status(const ApiContext& c) {
  const ops::ActiveDataplane active = ops::find_active_dataplane(c.state_path, c.node);
  json j = ops::status_json(c.node, active);
  ops::add_generations(j, c.state_path, active,
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count());
  // The live status of the daemon serving this request, in place of its last record.
  j["daemon"] = to_json(c.status());
  return ok(200, std::move(j));
}

ApiResponse get_services(const ApiContext& c) {
  const auto store = open_for_read(c.state_path);
  return ok(200, ops::services_json(ops::list_services(store.get())));
}

ApiResponse get_stats(const ApiContext& c) {
  const DaemonStatus status = c.status();
  if (status.dataplane.empty()) return error_response(503, {"no dataplane is programmed yet"});
  return ok(200, ops::stats_json(c.stats(), status.dataplane));
}

ApiResponse post_app(const ApiContext& c, const std::string& body) {
  if (auto bad = config::check_text(body, kBodyName)) return diagnostics_response(400, {*bad});
  auto parsed = config::parse_app(body, kBodyName, c.node.validation_options());
  if (!parsed.ok()) return diagnostics_response(400, parsed.errors);

  // The node's side, as `portway apply` checks it: the pools, minus the node's own addresses,
  // and service ranges that overlap none of the node's networks. A failure here is the
  // node's, not the request's.
  std::optional<model::AddressPools> pools;
  try {
    pools.emplace(model::AddressPools::from(c.node));
  } catch (const model::AllocationError& e) {
    return error_response(500, {std::string("node settings: ") + e.what()});
  }
  const net::NodeAddressing live = netlink::read_node_addressing(c.node.uplinks);
  if (auto overlaps = model::service_range_overlaps(c.node.service_cidr, c.node.service_cidr6, live); !overlaps.empty()) {
    for (auto& line : overlaps) line = "node settings: " + line;
    return error_response(500, overlaps);
  }
  pools->exclude(live.addresses);

  const auto store = open_for_write(c.state_path);
  const ops::AppliedApp applied = ops::apply_app(
      *store,
      {.source = body, .app = *parsed.app, .ranges = {c.node.service_cidr, c.node.service_cidr6},
       .move_service_ranges = false, .ranges_origin = "from the daemon's node file"},
      *pools, now_ms());
  return ok(200, applied.json);
}

ApiResponse delete_app(const ApiContext& c, const std::string& app) {
  const auto store = open_for_read(c.state_path);
  if (!store) return error_response(404, {"app " + model::printable_quoted(app) + " is not applied"});
  return ok(200, ops::delete_app(*store, app).json);
}

// {"app","service","ip","ip6","iface","labels","id"}: strings; ip, ip6, iface and id may be
// null or absent (but not both ip and ip6), labels an object of strings. Every problem is reported at once.
ApiResponse post_sandbox(const ApiContext& c, const std::string& body) {
  ApiResponse refusal;
  const auto j = object_body(body, refusal);
  if (!j) return refusal;
  std::vector<std::pair<std::string, std::string>> errors;
  model::SandboxInput in;
  const auto string_field = [&](const char* name, bool required, bool nullable) -> std::optional<std::string> {
    const auto it = j->find(name);
    if (it == j->end() || (nullable && it->is_null())) {
      if (required) errors.emplace_back(name, std::string(name) + " is required (a string)");
      return std::nullopt;
    }
    if (!it->is_string()) {
      errors.emplace_back(name, std::string(name) + " must be a string (got " + it->type_name() + ")");
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  for (const auto& [key, value] : j->items()) {
    static const std::vector<std::string> known{"app", "service", "ip", "ip6", "iface", "labels", "id"};
    if (std::find(known.begin(), known.end(), key) == known.end())
      errors.emplace_back(key, "unknown field " + model::printable_quoted(key) +
                                   " (fields: app, service, ip, ip6, iface, labels, id)");
  }
  in.app = string_field("app", true, false).value_or("");
  in.service = string_field("service", true, false).value_or("");
  in.ipv4 = string_field("ip", false, true);
  in.ipv6 = string_field("ip6", false, true);
  in.iface = string_field("iface", false, true).value_or("");
  in.id = string_field("id", false, true);
  if (const auto it = j->find("labels"); it != j->end() && !it->is_null()) {
    if (!it->is_object()) {
      errors.emplace_back("labels", std::string("labels must be an object of strings (got ") + it->type_name() + ")");
    } else {
      for (const auto& [key, value] : it->items()) {
        if (!value.is_string()) {
          errors.emplace_back("labels." + key, "label values must be strings (got " + std::string(value.type_name()) + ")");
          continue;
        }
        in.labels.push_back(key + "=" + value.get<std::string>());
      }
    }
  }
  if (!errors.empty()) return field_errors(errors);
  auto checked = model::validate_sandbox(in, now_ms());
  if (!checked.record) return error_response(400, checked.errors);
  const auto node_addresses = ops::node_addresses();
  const auto store = open_for_write(c.state_path);
  const auto added = ops::add_sandbox(*store, std::move(*checked.record), node_addresses);
  return ok(201, {{"id", added.id}, {"sandbox", ops::sandbox_json(added)}});
}

ApiResponse patch_sandbox(const ApiContext& c, const std::string& id, const std::string& body) {
  ApiResponse refusal;
  const auto j = object_body(body, refusal);
  if (!j) return refusal;
  std::vector<std::pair<std::string, std::string>> errors;
  for (const auto& [key, value] : j->items())
    if (key != "state") errors.emplace_back(key, "unknown field " + model::printable_quoted(key) + " (fields: state)");
  std::optional<store::SandboxState> state;
  const auto it = j->find("state");
  if (it == j->end() || !it->is_string())
    errors.emplace_back("state", "state is required: \"running\", \"draining\" or \"stopped\"");
  else if (!(state = store::parse_sandbox_state(it->get<std::string>())))
    errors.emplace_back("state", "state must be \"running\", \"draining\" or \"stopped\" (got " +
                                     model::printable_quoted(it->get<std::string>()) + ")");
  if (!errors.empty()) return field_errors(errors);
  const auto store = open_for_read(c.state_path);
  if (!store) return error_response(404, {"no sandbox " + model::printable_quoted(id) + " is registered"});
  const ops::StateChange change = ops::set_sandbox_state(*store, id, *state, now_ms());
  return ok(200, {{"id", id},
                  {"before", store::to_string(change.before)},
                  {"state", store::to_string(change.after)},
                  {"changed", change.changed()}});
}

ApiResponse delete_sandbox(const ApiContext& c, const std::string& id) {
  const auto store = open_for_read(c.state_path);
  if (!store) return error_response(404, {"no sandbox " + model::printable_quoted(id) + " is registered"});
  ops::remove_sandbox(*store, id);
  return ok(200, {{"id", id}, {"removed", true}});
}

ApiResponse route(const ApiContext& c, const ApiRequest& r) {
  const auto method_not_allowed = [](std::string allow) {
    ApiResponse out = error_response(405, {"method not allowed here (allowed: " + allow + ")"});
    out.allow = std::move(allow);
    return out;
  };
  const auto only = [&](const char* method, auto&& run) {
    return r.method == method ? run() : method_not_allowed(method);
  };
  if (r.path == "/v1/status") return only("GET", [&] { return get_status(c); });
  if (r.path == "/v1/services") return only("GET", [&] { return get_services(c); });
  if (r.path == "/v1/stats") return only("GET", [&] { return get_stats(c); });
  if (r.path == "/v1/apps") return only("POST", [&] { return post_app(c, r.body); });
  if (r.path == "/v1/sandboxes") return only("POST", [&] { return post_sandbox(c, r.body); });
  static const std::regex app_path("/v1/apps/([^/]+)");
  static const std::regex sandbox_path("/v1/sandboxes/([^/]+)");
  std::smatch m;
  if (std::regex_match(r.path, m, app_path)) return only("DELETE", [&] { return delete_app(c, m[1].str()); });
  if (std::regex_match(r.path, m, sandbox_path)) {
    if (r.method == "PATCH") return patch_sandbox(c, m[1].str(), r.body);
    if (r.method == "DELETE") return delete_sandbox(c, m[1].str());
    return method_not_allowed("PATCH, DELETE");
  }
  return error_response(404, {"no such path: " + model::printable_quoted(r.path) + " (docs/api.md lists the routes)"});
}

}  // namespace

ApiResponse error_response(int status, const std::vector<std::string>& messages) {
  json errors = json::array();
  for (const auto& m : messages) errors.push_back({{"line", 0}, {"col", 0}, {"path", ""}, {"message", m}});
  return {status, {{"errors", std::move(errors)}}, {}};
}

ApiResponse handle_api_request(const ApiContext& context, const ApiRequest& request) {
  try {
    return route(context, request);
  } catch (const model::Conflict& e) {
    return error_response(409, e.reasons());
  } catch (const model::NotFound& e) {
    return error_response(404, e.reasons());
  } catch (const model::Rejected& e) {
    return error_response(400, e.reasons());
  } catch (const store::StoreError& e) {
    return error_response(503, {std::string("the state database cannot be used now: ") + e.what()});
  } catch (const std::exception& e) {
    return error_response(500, {e.what()});
  }
}

}  // namespace portway::daemon
