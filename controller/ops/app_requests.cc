#include "ops/app_requests.h"

#include <map>

#include "model/app_ops.h"
#include "model/endpoints.h"
#include "model/errors.h"
#include "ops/service_view.h"

namespace portway::ops {

AppliedApp apply_app(store::Store& store, const ApplyRequest& request, const model::AddressPools& pools,
                     std::int64_t now_ms) {
  auto tx = store.begin_write();
  AppliedApp out;
  out.ranges_moved = model::settle_service_ranges(*tx, request.ranges, request.move_service_ranges,
                                                  request.ranges_origin);
  const model::ApplyResult result = model::apply_app(*tx, request.source, request.app, pools, now_ms);
  if (out.ranges_moved) {
    const model::ReconcileReport others = model::reconcile_all(*tx, pools);
    if (!others.failures.empty()) {
      std::vector<std::string> reasons;
      for (const auto& f : others.failures) reasons.push_back("Service " + f.id + ": " + f.message);
      throw model::Rejected(std::move(reasons));
    }
    for (const auto& o : others.outcomes) out.readdressed += o.change == model::ServiceChange::updated;
  }
  const auto sandboxes = tx->sandboxes();
  tx->commit();

  const model::EndpointIndex endpoints(sandboxes);
  std::map<std::string, std::string_view> change;
  std::vector<std::string> deleted;
  for (const auto& o : result.report.outcomes) {
    change[o.id] = model::to_string(o.change);
    if (o.change == model::ServiceChange::deleted) deleted.push_back(o.id);
  }
  nlohmann::json services = nlohmann::json::array();
  for (const auto& s : result.services) {
    auto j = service_json(s, endpoints);
    j["change"] = change[s.id];
    services.push_back(std::move(j));
  }
  out.json = {{"app", {{"name", request.app.name}, {"version", result.app_version}, {"changed", result.app_changed}}},
              {"services", std::move(services)},
              {"deleted", deleted}};

  out.text = "app " + request.app.name + " version " + std::to_string(result.app_version) +
             (result.app_changed ? "" : " (unchanged)") + ": " + std::to_string(result.services.size()) +
             (result.services.size() == 1 ? " Service\n" : " Services\n");
  for (const auto& s : result.services) out.text += std::string(change[s.id]) + " " + service_text(s, endpoints);
  for (const auto& id : deleted) out.text += "deleted " + id + "\n";
  return out;
}

DeletedApp delete_app(store::Store& store, std::string_view app) {
  auto tx = store.begin_write();
  const model::DeleteResult result = model::delete_app(*tx, app);
  tx->commit();

  DeletedApp out;
  nlohmann::json ports = nlohmann::json::array();
  out.text = "deleted app " + std::string(app) + "\n";
  for (const auto& id : result.services) out.text += "deleted " + id + "\n";
  for (const auto& a : result.released_addresses) out.text += "released address " + a + "\n";
  for (const auto& c : result.released_claims) {
    out.text += "released node_port " + std::to_string(c.node_port) + "/" + std::string(config::to_string(c.protocol)) + "\n";
    ports.push_back({{"node_port", c.node_port}, {"protocol", config::to_string(c.protocol)}});
  }
  out.json = {{"app", std::string(app)},
              {"services", result.services},
              {"released_addresses", result.released_addresses},
              {"released_node_ports", std::move(ports)}};
  return out;
}

}  // namespace portway::ops
