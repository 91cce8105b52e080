// Loading `--node FILE` for any command: defaults when absent, errors mapped to exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "config/node_settings.h"
#include "net/node_addressing.h"
#include "state/dataplane_state.h"

namespace portway::cli {

// Throws EnvironmentError (unreadable, symlink, world-writable) or RejectedError (invalid
// settings, every error already printed to stderr).
config::NodeSettings load_node_settings(const std::optional<std::string>& path);

// What --dataplane takes (sync, lab up|run), overriding the node file's `dataplane`: CLI11
// refuses anything else as a usage error naming the flag and the choices.
CLI::Validator dataplane_values();
// A value dataplane_values() let through.
config::DataplaneChoice dataplane_choice(const std::string& checked);

// The live node's addresses and uplink networks (netlink), after refusing service ranges
// that overlap them (RejectedError, every overlap printed; model/service_ranges.h).
// EnvironmentError when the kernel cannot be asked.
net::NodeAddressing refuse_ranges_overlapping_node(const config::NodeSettings& node);

// One line per node port of `desired` that the node reserves (reserved_node_ports): apply
// refuses such claims, but the store may hold claims made under another node file. sync
// programs nothing then (all or nothing: docs/model.md).
std::vector<std::string> reserved_node_port_claims(const state::DataplaneState& desired,
                                                   const std::vector<std::uint16_t>& reserved);

}  // namespace portway::cli
