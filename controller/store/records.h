// The entities of docs/model.md as the store keeps them: plain values, no SQL, no JSON.
// Everything the controller persists is one of these; the compiler reads nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/app_model.h"
#include "net/ip_prefix.h"

namespace portway::store {

using Labels = std::map<std::string, std::string, std::less<>>;

// An applied app.toml: the text as the user wrote it and the resolved form it validated to.
struct AppRecord {
  std::string name;
  std::string source;       // raw app.toml text
  std::string parsed_json;  // config::App, encoded by model/app_codec (opaque to the store)
  std::uint64_t version = 0;  // bumped on every change of source or parsed form
  std::int64_t updated_at_ms = 0;

  bool operator==(const AppRecord&) const = default;
};

struct ServicePort {
  std::string name;
  std::uint16_t port = 0;         // on the service address
  std::uint16_t target_port = 0;  // in the sandbox (app.toml has no separate key: == port)
  config::Protocol protocol = config::Protocol::tcp;
  config::PortType type = config::PortType::tcp;
  std::uint16_t node_port = 0;    // 0 = none

  bool operator==(const ServicePort&) const = default;
};

// Which sandboxes back a Service: those whose app AND service both match.
struct Selector {
  std::string app;
  std::string service;
  bool operator==(const Selector&) const = default;
};

struct ServiceRecord {
  std::string id;       // svc/<app>/<service>
  std::string app;      // owning app (its deletion deletes the Service)
  std::string service;  // service name within the app
  Labels labels;
  Selector selector;
  std::vector<ServicePort> ports;  // declaration order
  // At least one (docs/model.md "Address families"): the app's service chooses which.
  std::optional<net::Ipv4> ipv4;
  std::optional<net::Ipv6> ipv6;
  std::uint64_t revision = 0;  // 1 on create, bumped on every update

  bool operator==(const ServiceRecord&) const = default;
};

struct NodePortClaim {
  std::uint16_t node_port = 0;
  config::Protocol protocol = config::Protocol::tcp;
  std::string app;
  std::string service;

  bool operator==(const NodePortClaim&) const = default;
};

// What identifies a claim: (node_port, protocol) is unique across the store.
struct ClaimKey {
  std::uint16_t node_port = 0;
  config::Protocol protocol = config::Protocol::tcp;

  auto operator<=>(const ClaimKey&) const = default;
};

// What changed in the store after one generation, up to a later one (docs/model.md "The change
// journal"): the keys of every record written or deleted, including deletions that cascade
// from an app (its Services and claims). Each list is sorted and unique. A key listed may
// name a record that is unchanged in the end (written twice, or created and deleted): a
// reader reads the record again and compares, so the journal only has to be complete.
struct ChangeSet {
  std::vector<std::string> apps;       // app names
  std::vector<std::string> services;   // Service ids
  std::vector<std::string> sandboxes;  // sandbox ids
  std::vector<ClaimKey> claims;        // node-port claims made, moved or released

  bool empty() const { return apps.empty() && services.empty() && sandboxes.empty() && claims.empty(); }
  bool operator==(const ChangeSet&) const = default;
};

// The node's service address ranges (docs/model.md "The node's service ranges"): the first apply
// records them; a later one with other ranges is refused unless the operator asks to move.
struct ServiceRanges {
  net::Ipv4Prefix ipv4;
  std::optional<net::Ipv6Prefix> ipv6;

  bool operator==(const ServiceRanges&) const = default;
};

enum class SandboxState : std::uint8_t { running, draining, stopped };
std::string_view to_string(SandboxState s);
std::optional<SandboxState> parse_sandbox_state(std::string_view s);

struct SandboxRecord {
  std::string id;
  std::string app;
  std::string service;
  Labels labels;
  std::optional<net::Ipv4> ipv4;  // at least one of the two
  std::optional<net::Ipv6> ipv6;
  std::string iface;  // host-side interface; empty = reached by routing
  SandboxState state = SandboxState::running;
  std::int64_t changed_at_ms = 0;  // last add or state change, Unix epoch

  bool operator==(const SandboxRecord&) const = default;
};

}  // namespace portway::store
