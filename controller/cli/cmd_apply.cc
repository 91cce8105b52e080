// portway apply [--state DB] [--node FILE] [--json] FILE
#include <iostream>
#include <map>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "cli/service_view.h"
#include "cli/state_db.h"
#include "config/app_parser.h"
#include "config/text_input.h"
#include "model/app_ops.h"
#include "model/endpoints.h"
#include "model/errors.h"

namespace portway::cli {
namespace {

const FlagSpec kFlags[] = {
    {"state", true, false, "state database (default $PORTWAY_STATE, else /var/lib/portway/state.db)"},
    {"node", true, false, "node settings (TOML): service address pools, reserved node ports"},
    {"move-service-ranges", false, false,
     "accept service ranges other than the store's and re-address every Service into them"},
    {"json", false, false, "print {\"app\":{...},\"services\":[...],\"deleted\":[...]} on stdout"},
    {"help", false, false, "show this help"},
};

constexpr const char* kUsage =
    "usage: portway apply [--state DB] [--node FILE] [--move-service-ranges] [--json] FILE\n"
    "Validate an app.toml, check its node ports against every other app, and create, update or\n"
    "delete its Services (keeping their addresses) in one transaction: all of it or nothing.\n"
    "Exit: 0 applied (or already up to date), 1 rejected (invalid file, node-port conflict,\n"
    "address pool exhausted, service ranges overlapping the node's addresses or uplink\n"
    "networks, or other than the ones the store's Services were addressed from), 2 usage or\n"
    "environment error.\n";

config::App parse_or_reject(const std::string& file, const config::ValidationOptions& options,
                            std::string& text) {
  auto read = config::read_config_file(file);
  if (read.io_error) throw EnvironmentError(*read.io_error);
  if (read.rejected) {
    std::cerr << config::to_string(*read.rejected) << "\n";
    throw RejectedError("");
  }
  auto outcome = config::parse_app(read.text, file, options);
  if (!outcome.ok()) {
    for (const auto& d : outcome.errors) std::cerr << config::to_string(d) << "\n";
    throw RejectedError("");
  }
  text = std::move(read.text);
  return std::move(*outcome.app);
}

}  // namespace

int cmd_apply(std::span<const std::string> args) {
  const ParsedArgs parsed = parse_args(args, kFlags);
  if (parsed.has("help")) {
    std::cout << kUsage << describe_flags(kFlags);
    return kExitOk;
  }
  if (parsed.positional().size() != 1) throw UsageError("apply needs exactly one FILE");
  const config::NodeSettings node = load_node_settings(parsed.value("node"));
  std::optional<model::AddressPools> pools;
  try {
    pools.emplace(model::AddressPools::from(node));
  } catch (const model::AllocationError& e) {
    throw RejectedError(std::string("node settings: ") + e.what());
  }
  pools->exclude(refuse_ranges_overlapping_node(node).addresses);

  // Everything that can be refused without the store is refused before it is opened.
  std::string text;
  const config::App app = parse_or_reject(parsed.positional()[0], node.validation_options(), text);

  const auto store = open_state_for_write(parsed.value("state"));
  auto tx = store->begin_write();
  const std::string origin = parsed.value("node") ? "from " + *parsed.value("node")
                                                  : "the defaults: no --node given";
  const bool moved = model::settle_service_ranges(
      *tx, {node.service_cidr, node.service_cidr6}, parsed.has("move-service-ranges"), origin);
  const model::ApplyResult result = model::apply_app(*tx, text, app, *pools, now_ms());
  model::ReconcileReport others;
  if (moved) {
    others = model::reconcile_all(*tx, *pools);
    if (!others.failures.empty()) {
      std::vector<std::string> reasons;
      for (const auto& f : others.failures) reasons.push_back("Service " + f.id + ": " + f.message);
      throw model::Rejected(std::move(reasons));
    }
  }
  const auto sandboxes = tx->sandboxes();
  tx->commit();
  if (moved) {
    std::size_t readdressed = 0;
    for (const auto& o : others.outcomes) readdressed += o.change == model::ServiceChange::updated;
    std::cerr << "portway apply: service ranges moved to " << model::describe({node.service_cidr, node.service_cidr6})
              << "; re-addressed " << readdressed << " Service(s) of other apps\n";
  }

  const model::EndpointIndex endpoints(sandboxes);
  std::map<std::string, std::string_view> change;
  std::vector<std::string> deleted;
  for (const auto& o : result.report.outcomes) {
    change[o.id] = model::to_string(o.change);
    if (o.change == model::ServiceChange::deleted) deleted.push_back(o.id);
  }
  if (parsed.has("json")) {
    nlohmann::json services = nlohmann::json::array();
    for (const auto& s : result.services) {
      auto j = service_json(s, endpoints);
      j["change"] = change[s.id];
      services.push_back(std::move(j));
    }
    std::cout << dump({{"app", {{"name", app.name}, {"version", result.app_version},
                                {"changed", result.app_changed}}},
                       {"services", std::move(services)},
                       {"deleted", deleted}})
              << "\n";
    return kExitOk;
  }
  std::cout << "app " << app.name << " version " << result.app_version
            << (result.app_changed ? "" : " (unchanged)") << ": " << result.services.size()
            << (result.services.size() == 1 ? " Service\n" : " Services\n");
  for (const auto& s : result.services) std::cout << change[s.id] << " " << service_text(s, endpoints);
  for (const auto& id : deleted) std::cout << "deleted " << id << "\n";
  return kExitOk;
}

}  // namespace portway::cli
