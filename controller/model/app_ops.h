// `portway apply` and `portway delete` on the model (docs/model.md "Transactions, command by
// command"): each is one transaction the caller owns. These functions write through it and throw
// model::Rejected when the request must not land; the caller then destroys the transaction, which
// rolls everything back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/app_model.h"
#include "model/reconcile.h"
#include "store/store.h"

namespace portway::model {

struct ApplyResult {
  bool app_changed = false;        // the stored app text or resolved form changed
  std::uint64_t app_version = 0;   // after the apply
  ReconcileReport report;          // no failures (those reject the apply)
  std::vector<store::ServiceRecord> services;  // the app's Services after the apply, by id
};

// Node-port claims checked against every other app's, app record and claims written, the
// app's Services reconciled. Writes nothing when nothing changed (same text, same Services).
// Throws Rejected naming every conflicting claim, or every Service that could not be
// ensured (address pool exhausted, ...).
ApplyResult apply_app(store::Transaction& tx, std::string_view source, const config::App& app,
                      const AddressPools& pools, std::int64_t now_ms);

struct DeleteResult {
  std::vector<std::string> services;            // deleted Service ids
  std::vector<std::string> released_addresses;  // their addresses
  std::vector<store::NodePortClaim> released_claims;
};

// The node's service ranges against the ones the store recorded (docs/model.md "The node's
// service ranges"). Records `wanted` when the store has none yet and every stored Service
// address lies in them. Otherwise, when they differ (or a stored address lies outside them),
// throws Rejected saying how to move deliberately, unless `allow_move`: then records them
// and returns true, and the caller re-addresses every app (reconcile_all) in the same
// transaction. `origin` says where `wanted` came from, for the message.
bool settle_service_ranges(store::Transaction& tx, const store::ServiceRanges& wanted,
                           bool allow_move, std::string_view origin);

std::string describe(const store::ServiceRanges& r);  // "service_cidr X[, service_cidr6 Y]"

// Deletes the app, its Services (releasing their addresses) and its node-port claims.
// Throws Rejected if no such app is applied.
DeleteResult delete_app(store::Transaction& tx, std::string_view app);

// `node_port N/P (service "S") is already in use by app "A" service "T"` (docs/model.md "Node-port
// claims"), one per wanted claim owned by another app, ordered by (node_port, protocol).
std::vector<std::string> claim_conflicts(const std::vector<store::NodePortClaim>& wanted,
                                         const std::vector<store::NodePortClaim>& existing);

}  // namespace portway::model
