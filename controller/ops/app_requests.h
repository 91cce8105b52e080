// Applying and deleting an app: the writes `portway apply`/`delete` and the daemon's API
// (POST /v1/apps, DELETE /v1/apps/{app}) share, each one store transaction, and the objects
// both print. The caller parses the app and builds the address pools first (it knows where
// the text came from); everything from the transaction on happens here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/app_model.h"
#include "model/reconcile.h"
#include "store/records.h"
#include "store/store.h"

namespace portway::ops {

struct ApplyRequest {
  std::string_view source;  // the app.toml text, stored as given
  const config::App& app;   // parsed from it
  store::ServiceRanges ranges;  // the node's service ranges
  bool move_service_ranges = false;
  std::string_view ranges_origin;  // where `ranges` came from, for the refusal message
};

struct AppliedApp {
  // {"app":{"name","version","changed"},"services":[service_json + "change"],"deleted":[ids]}
  nlohmann::json json;
  std::string text;  // the same, one line per Service (`portway apply` without --json)
  bool ranges_moved = false;
  std::size_t readdressed = 0;  // Services of other apps re-addressed into the moved ranges
};

// Throws model::Rejected (model::Conflict for node-port claims held by another app) with
// nothing written, or store::StoreError.
AppliedApp apply_app(store::Store& store, const ApplyRequest& request, const model::AddressPools& pools,
                     std::int64_t now_ms);

struct DeletedApp {
  // {"app","services":[ids],"released_addresses":[...],"released_node_ports":[{"node_port","protocol"}]}
  nlohmann::json json;
  std::string text;  // what `portway delete` prints
};

// Throws model::NotFound when no such app is applied, or store::StoreError.
DeletedApp delete_app(store::Store& store, std::string_view app);

}  // namespace portway::ops
