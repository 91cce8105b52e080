#include "model/app_ops.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "model/app_codec.h"
#include "model/errors.h"
#include "model/wanted.h"

namespace portway::model {

std::vector<std::string> claim_conflicts(const std::vector<store::NodePortClaim>& wanted,
                                         const std::vector<store::NodePortClaim>& existing) {
  std::map<std::tuple<std::uint16_t, config::Protocol>, const store::NodePortClaim*> owner;
  for (const auto& c : existing) owner.emplace(std::tuple{c.node_port, c.protocol}, &c);
  std::vector<std::string> out;
  for (const auto& w : wanted) {
    const auto it = owner.find(std::tuple{w.node_port, w.protocol});
    // The same app re-claiming (a redeploy, or moving the port between its own services)
    // is not a conflict; V8 already refused two services of one app sharing a claim.
    if (it == owner.end() || it->second->app == w.app) continue;
    out.push_back("node_port " + std::to_string(w.node_port) + "/" +
                  std::string(config::to_string(w.protocol)) + " (service \"" + w.service +
                  "\") is already in use by app \"" + it->second->app + "\" service \"" +
                  it->second->service + "\"");
  }
  return out;
}

ApplyResult apply_app(store::Transaction& tx, std::string_view source, const config::App& app,
                      const AddressPools& pools, std::int64_t now_ms) {
  // Claims first: a conflict must be refused before anything is written.
  const auto claims = wanted_claims(app);
  auto existing = tx.claims();
  if (auto conflicts = claim_conflicts(claims, existing); !conflicts.empty()) {
    throw Conflict(std::move(conflicts));
  }

  ApplyResult result;
  const std::string parsed = encode_app(app);
  const auto stored = tx.find_app(app.name);
  if (!stored || stored->source != source || stored->parsed_json != parsed) {
    store::AppRecord rec{app.name, std::string(source), parsed,
                         stored ? stored->version + 1 : 1, now_ms};
    tx.put_app(rec);
    result.app_changed = true;
    result.app_version = rec.version;
  } else {
    result.app_version = stored->version;
  }

  std::vector<store::NodePortClaim> have;
  for (auto& c : existing) {
    if (c.app == app.name) have.push_back(std::move(c));
  }
  if (have != claims) tx.replace_claims(app.name, claims);

  result.report = reconcile_app(tx, app, pools);
  if (!result.report.failures.empty()) {
    std::vector<std::string> reasons;
    for (const auto& f : result.report.failures) reasons.push_back("Service " + f.id + ": " + f.message);
    throw Rejected(std::move(reasons));
  }
  result.services = tx.services_of_app(app.name);
  return result;
}

std::string describe(const store::ServiceRanges& r) {
  std::string out = "service_cidr " + net::to_string(r.ipv4);
  out += r.ipv6 ? ", service_cidr6 " + net::to_string(*r.ipv6) : ", no service_cidr6";
  return out;
}

namespace {

// A stored Service whose addresses the ranges would move, or nullopt.
std::optional<std::string> service_outside(store::Transaction& tx, const store::ServiceRanges& r) {
  for (const auto& s : tx.services()) {
    if (s.ipv4 && !r.ipv4.contains(*s.ipv4)) return s.id + " has " + net::to_string(*s.ipv4);
    if (s.ipv6 && (!r.ipv6 || !r.ipv6->contains(*s.ipv6))) return s.id + " has " + net::to_string(*s.ipv6);
    if (!s.ipv6 && r.ipv6) return s.id + " has no IPv6 address";
  }
  return std::nullopt;
}

}  // namespace

bool settle_service_ranges(store::Transaction& tx, const store::ServiceRanges& wanted,
                           bool allow_move, std::string_view origin) {
  const auto stored = tx.service_ranges();
  if (stored == wanted) return false;
  std::string why;
  if (stored) {
    why = "this node's Services were addressed from " + describe(*stored) +
          " (recorded by the first apply), but this apply has " + describe(wanted) + " (" +
          std::string(origin) + ")";
  } else if (auto outside = service_outside(tx, wanted)) {
    // A store from before the ranges were recorded: its addresses tell where they were.
    why = "this apply has " + describe(wanted) + " (" + std::string(origin) + "), but " + *outside;
  } else {
    tx.put_service_ranges(wanted);
    return false;
  }
  if (!allow_move) {
    throw Rejected(why + ": applying would move Service addresses. Give the node file the "
                   "ranges were set with (--node), or move every Service into the new ranges "
                   "deliberately with --move-service-ranges");
  }
  tx.put_service_ranges(wanted);
  return true;
}

DeleteResult delete_app(store::Transaction& tx, std::string_view app) {
  if (!tx.find_app(app)) throw NotFound("app " + printable_quoted(app) + " is not applied");
  DeleteResult result;
  for (const auto& s : tx.services_of_app(app)) {
    result.services.push_back(s.id);
    if (s.ipv4) result.released_addresses.push_back(net::to_string(*s.ipv4));
    if (s.ipv6) result.released_addresses.push_back(net::to_string(*s.ipv6));
  }
  for (auto& c : tx.claims()) {
    if (c.app == app) result.released_claims.push_back(std::move(c));
  }
  tx.delete_app(app);  // cascades to Services, their ports and addresses, and the claims
  return result;
}

}  // namespace portway::model
