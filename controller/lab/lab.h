// `portway lab up|down|run`: the demo and the parity harness (docs/operations.md "The lab"). A
// topology in network namespaces (topology.h), the example apps applied to a lab state database,
// one or two test-app sandboxes per L4 service registered as sandboxes, and portway programming the
// node namespace. `run` probes every frontend once per dataplane and returns one row each.
//
// Everything the lab creates is named after its prefix and lives in its directory (state,
// node settings, pids, logs) or its namespaces; `down` removes all of it, also after a crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/node_settings.h"

namespace portway::lab {

struct LabConfig {
  std::string prefix = "pwlab";
  std::string dir = "/run/portway-lab";  // state.db, node.toml, pids, logs
  std::string examples_dir;              // app.toml files to apply
  std::string testapp;                   // path of portway-testapp
  int app_lifetime_seconds = 3600;       // test apps stop by themselves after this
};

config::NodeSettings lab_node_settings(const LabConfig& cfg);

struct LabSummary {
  unsigned apps = 0, services = 0, sandboxes = 0;
  std::string dataplane, reason;
};

// Builds everything and syncs with `choice`. Fails if a lab with this prefix exists.
LabSummary lab_up(const LabConfig& cfg, config::DataplaneChoice choice);

// Removes everything; returns what it removed, for the user.
std::vector<std::string> lab_down(const LabConfig& cfg);

struct LabRow {
  std::string frontend;    // "198.19.0.7:6667 svc/irc/irc irc", "[2001:2:1::7]:6667 ...", "node:30080 ... via ADDR"
  std::string protocol;
  std::string from;        // client | sandbox | node
  std::string dataplane;
  std::string answered_by; // sandbox id, or "-"
  std::string client_seen; // address the backend saw
  std::string result;      // "ok", or what went wrong
  bool ok = false;
};

// Syncs the lab with each dataplane in turn and probes every frontend from the client (node
// ports, on the node's IPv4 and IPv6 address) and from a sandbox and the node (service
// addresses of both families: the lab's Services are dual-stack).
std::vector<LabRow> lab_run(const LabConfig& cfg, const std::vector<config::DataplaneChoice>& dataplanes);

std::string format_table(const std::vector<LabRow>& rows);

}  // namespace portway::lab
