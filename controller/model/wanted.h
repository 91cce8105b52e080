// What an app asks of the model (docs/model.md "Service entities"): the Service
// entities it wants and the node ports it claims. Pure functions of the resolved App.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/app_model.h"
#include "store/records.h"

namespace portway::model {

inline constexpr std::string_view kManagedBy = "portway";

// "svc/<app>/<service>". App and service names are DNS labels (V11), which cannot hold '/',
// so distinct (app, service) pairs never share an id, where "svc/<app>-<service>" would make
// app "a-b"/service "c" and app "a"/service "b-c" collide.
std::string service_id(std::string_view app, std::string_view service);

// A Service as the app declares it: everything but the addresses and the revision, which
// the store and the allocator own.
struct WantedService {
  std::string id;
  std::string app;
  std::string service;
  store::Labels labels;  // app, service, managed-by=portway
  store::Selector selector;
  std::vector<store::ServicePort> ports;  // every declared port, http ones too, file order
  std::vector<config::IpFamily> ip_families;  // as declared; empty: every family the node has

  bool operator==(const WantedService&) const = default;
};

// One per app service whose l4_service is set (a non-http port or any node_port; shorthand
// already expanded by the parser), in file order.
std::vector<WantedService> wanted_services(const config::App& app);

// Every (node_port, protocol) the app's ports claim, ordered by (node_port, protocol).
std::vector<store::NodePortClaim> wanted_claims(const config::App& app);

}  // namespace portway::model
