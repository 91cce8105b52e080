// portway status [--state DB] [--node FILE] [--json]
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/dataplane_flags.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "cli/service_view.h"
#include "dataplane/xdp/xdp_dataplane.h"

namespace portway::cli {
namespace {

const FlagSpec kFlags[] = {
    {"state", true, false, "state database whose last sync is reported"},
    {"node", true, false, "node settings (TOML): where the fast path is pinned, which interfaces"},
    {"json", false, false, "print one JSON object"},
    {"help", false, false, "show this help"},
};

constexpr const char* kUsage =
    "usage: portway status [--state DB] [--node FILE] [--json]\n"
    "Which dataplane is active and why, attached interfaces, map fill levels, last sync.\n";

}  // namespace

int cmd_status(std::span<const std::string> args) {
  const ParsedArgs parsed = parse_args(args, kFlags);
  if (parsed.has("help")) {
    std::cout << kUsage << describe_flags(kFlags);
    return kExitOk;
  }
  if (!parsed.positional().empty()) throw UsageError("status takes no arguments");
  const config::NodeSettings settings = load_node_settings(parsed.value("node"));
  ActiveDataplane active = find_active_dataplane(parsed, settings);

  nlohmann::json j;
  j["active"] = active.kind ? nlohmann::json(std::string(dataplane::to_string(*active.kind))) : nlohmann::json(nullptr);
  j["last_sync"] = active.last_sync ? dataplane::to_json(*active.last_sync) : nlohmann::json(nullptr);
  j["attachments"] = nlohmann::json::array();
  j["fill"] = nlohmann::json::object();
  if (active.kind == dataplane::Kind::xdp) {
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
  }
  if (parsed.has("json")) {
    std::cout << dump(j) << "\n";
    return kExitOk;
  }
  std::cout << "active dataplane: " << (active.kind ? dataplane::to_string(*active.kind) : "none") << "\n";
  if (active.last_sync) {
    std::cout << "last sync: " << active.last_sync->dataplane << " (" << active.last_sync->reason
              << "), " << active.last_sync->changes << " changes, at " << active.last_sync->last_sync_ms
              << " ms since the epoch\n";
  } else {
    std::cout << "last sync: none recorded for this state database\n";
  }
  for (const auto& a : j["attachments"])
    std::cout << "attached: " << a["interface"].get<std::string>() << " " << a["hook"].get<std::string>()
              << " (" << a["mode"].get<std::string>() << ")\n";
  for (const auto& [name, fill] : j["fill"].items())
    std::cout << "map " << name << ": " << fill["used"] << " / " << fill["capacity"] << "\n";
  return kExitOk;
}

}  // namespace portway::cli
