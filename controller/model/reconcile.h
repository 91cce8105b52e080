// One reconcile pass over an app's Services (docs/model.md "One reconcile pass"): ensure every
// wanted Service (create, update in place keeping its addresses, or leave alone), then delete the
// app's Services that are no longer wanted, unless an ensure failed in this pass (a transient
// failure must never delete a live Service).
//
// A pass writes through the given transaction and never commits: `portway apply` rolls back
// when the report has failures; a periodic pass may commit what succeeded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/app_model.h"
#include "config/node_settings.h"
#include "model/address_pool.h"
#include "net/node_addressing.h"
#include "store/store.h"

namespace portway::model {

// The node's service address pools (node settings service_cidr / service_cidr6).
struct AddressPools {
  Ipv4Pool ipv4;
  std::optional<Ipv6Pool> ipv6;
  // Addresses assigned to the node's interfaces: never handed out, also when a pool holds
  // them (docs/model.md "Service ranges and the node").
  std::vector<net::Ipv4> local_ipv4;
  std::vector<net::Ipv6> local_ipv6;

  static AddressPools from(const config::NodeSettings& node);  // throws AllocationError
  void exclude(const std::vector<net::InterfaceAddress>& local);
};

enum class ServiceChange : std::uint8_t { created, updated, unchanged, deleted };
std::string_view to_string(ServiceChange c);

struct ServiceOutcome {
  std::string id;
  ServiceChange change;
  bool operator==(const ServiceOutcome&) const = default;
};

struct EnsureFailure {
  std::string id;
  std::string message;
  bool operator==(const EnsureFailure&) const = default;
};

struct ReconcileReport {
  std::vector<ServiceOutcome> outcomes;  // wanted Services in file order, then deletions by id
  std::vector<EnsureFailure> failures;
  bool cleanup_skipped = false;

  bool changed() const;
  void merge(ReconcileReport other);
};

// One app's pass. Only store::StoreError and AllocationError count as ensure failures;
// anything else (a bug) propagates.
ReconcileReport reconcile_app(store::Transaction& tx, const config::App& app,
                              const AddressPools& pools);

// The periodic pass over every stored app (from their stored resolved form). Cleanup is
// skipped for all apps if any ensure failed anywhere in the pass.
ReconcileReport reconcile_all(store::Transaction& tx, const AddressPools& pools);

}  // namespace portway::model
