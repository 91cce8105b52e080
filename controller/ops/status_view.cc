#include "ops/status_view.h"

#include "dataplane/xdp/flow_listing.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "ops/daemon_process.h"
#include "store/sqlite_store.h"

namespace portway::ops {
namespace {

// The store's generation now, or why it cannot be read (the status still shows the rest).
nlohmann::json store_generation_now(const std::string& state_path) {
  try {
    const auto store = store::SqliteStore::open(state_path, {.create = false});
    return store->begin_read()->generation();
  } catch (const store::StoreMissingError&) {
    return nullptr;
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
}

}  // namespace

void add_generations(nlohmann::json& j, const std::string& state_path, const ActiveDataplane& active,
                     std::int64_t now_ms) {
  j["store_generation"] = store_generation_now(state_path);
  const auto& last = active.last_sync;
  j["programmed_generation"] = last ? nlohmann::json(last->programmed_generation) : nlohmann::json(nullptr);
  j["programmed_ago_ms"] =
      last && last->last_programmed_ms > 0 ? nlohmann::json(now_ms - last->last_programmed_ms) : nlohmann::json(nullptr);
  j["last_sync_ago_ms"] = last && last->last_sync_ms > 0 ? nlohmann::json(now_ms - last->last_sync_ms) : nlohmann::json(nullptr);
  j["daemon"] = nullptr;
  if (last && last->daemon_pid > 0) {
    j["daemon"] = {{"pid", last->daemon_pid},
                   {"running", is_portway_daemon(last->daemon_pid)},
                   {"ready", last->ready},
                   {"store_error", last->store_error},
                   {"program_error", last->program_error},
                   {"last_check_ms", last->last_check_ms},
                   {"last_change_seconds", last->last_change_seconds},
                   {"drift_repairs", last->drift_repairs}};
  }
}

nlohmann::json status_json(const config::NodeSettings& settings, const ActiveDataplane& active) {
  nlohmann::json j;
  j["active"] = active.kind ? nlohmann::json(std::string(dataplane::to_string(*active.kind))) : nlohmann::json(nullptr);
  j["last_sync"] = active.last_sync ? dataplane::to_json(*active.last_sync) : nlohmann::json(nullptr);
  j["kernel_note"] = active.kernel_note.empty() ? nlohmann::json(nullptr) : nlohmann::json(active.kernel_note);
  j["attachments"] = nlohmann::json::array();
  j["fill"] = nlohmann::json::object();
  if (active.kind == dataplane::Kind::nft && active.dataplane) {
    // The table has no fixed capacity: what it holds, read back from the kernel.
    const state::DataplaneState installed = active.dataplane->installed();
    std::size_t members = 0;
    for (const auto& set : installed.backend_sets()) members += set.members.size();
    j["fill"] = {
        {"frontends", {{"used", installed.frontends().size() + installed.node_ports().size()}, {"capacity", nullptr}}},
        {"backend_sets", {{"used", installed.backend_sets().size()}, {"capacity", nullptr}}},
        {"backends", {{"used", members}, {"capacity", nullptr}}},
    };
  }
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
  // IPv6 flows have their own table (pw_flows6): its fill, and its evictions with IPv4's.
  if (const auto flows6 = dataplane::xdp::read_flow6_fill({settings.bpffs_dir})) {
    j["fill"]["flows6"] = {{"used", flows6->entries}, {"capacity", flows6->capacity}};
    if (flows6->counted && j.contains("flows_evicted") && j["flows_evicted"].is_number())
      j["flows_evicted"] = j["flows_evicted"].get<std::uint64_t>() + flows6->evicted;
  }
  return j;
}

}  // namespace portway::ops
