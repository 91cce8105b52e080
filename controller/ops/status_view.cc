#include "ops/status_view.h"

#include "dataplane/xdp/xdp_dataplane.h"

namespace portway::ops {

nlohmann::json status_json(const config::NodeSettings& settings, const ActiveDataplane& active) {
  nlohmann::json j;
  j["active"] = active.kind ? nlohmann::json(std::string(dataplane::to_string(*active.kind))) : nlohmann::json(nullptr);
  j["last_sync"] = active.last_sync ? dataplane::to_json(*active.last_sync) : nlohmann::json(nullptr);
  j["attachments"] = nlohmann::json::array();
  j["fill"] = nlohmann::json::object();
  if (active.kind != dataplane::Kind::xdp) return j;
  dataplane::xdp::XdpDataplane xdp(settings);
  for (const auto& a : xdp.attachments())
    j["attachments"].push_back({{"interface", a.ifname}, {"hook", a.hook}, {"mode", a.mode}});
  const state::DataplaneState installed = xdp.installed();
  std::size_t members = 0;
  for (const auto& set : installed.backend_sets()) members += set.members.size();
  j["fill"] = {
      {"frontends", {{"used", installed.frontends().size() + installed.node_ports().size()}, {"capacity", settings.maps.frontends}}},
      {"backend_sets", {{"used", installed.backend_sets().size()}, {"capacity", settings.maps.backend_sets}}},
      {"backends", {{"used", members}, {"capacity", settings.maps.backends}}},
  };
  // The LRU flow table evicts when full: its fill, and what it lost that way (lb_abi.h).
  if (const auto flows = dataplane::xdp::read_flow_fill({settings.bpffs_dir})) {
    j["fill"]["flows"] = {{"used", flows->entries}, {"capacity", flows->capacity}};
    j["flows_evicted"] = flows->counted ? nlohmann::json(flows->evicted) : nlohmann::json(nullptr);
  }
  return j;
}

}  // namespace portway::ops
