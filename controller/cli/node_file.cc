#include "cli/node_file.h"

#include <algorithm>
#include <iostream>

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "config/text_input.h"
#include "model/service_ranges.h"
#include "netlink/addressing.h"

namespace portway::cli {

CLI::Validator dataplane_values() { return CLI::IsMember({"auto", "xdp", "nft"}); }

config::DataplaneChoice dataplane_choice(const std::string& checked) {
  const auto choice = config::parse_dataplane_choice(checked);
  if (!choice) throw UsageError("--dataplane must be auto, xdp or nft");
  return *choice;
}

config::NodeSettings load_node_settings(const std::optional<std::string>& path) {
  if (!path) return config::NodeSettings{};
  // Node settings decide what the node forwards: only a file that only its owner (root or
  // the caller) can change.
  auto read = config::read_config_file(*path, {.refuse_world_writable = true,
                                               .refuse_group_writable = true,
                                               .refuse_foreign_owner = true,
                                               .refuse_symlink = true});
  if (read.io_error) throw EnvironmentError("node settings " + *read.io_error);
  if (read.rejected) {
    std::cerr << config::to_string(*read.rejected) << "\n";
    throw RejectedError("");
  }
  auto outcome = config::parse_node_settings(read.text, *path);
  if (!outcome.settings) {
    for (const auto& d : outcome.errors) std::cerr << config::to_string(d) << "\n";
    throw RejectedError("");
  }
  return std::move(*outcome.settings);
}

net::NodeAddressing refuse_ranges_overlapping_node(const config::NodeSettings& node) {
  net::NodeAddressing live;
  try {
    live = netlink::read_node_addressing(node.uplinks);
  } catch (const std::exception& e) {
    throw EnvironmentError(std::string("reading the node's addresses and routes: ") + e.what());
  }
  const auto overlaps = model::service_range_overlaps(node.service_cidr, node.service_cidr6, live);
  if (!overlaps.empty()) {
    for (const auto& line : overlaps) std::cerr << "node settings: " << line << "\n";
    throw RejectedError("");
  }
  return live;
}

std::vector<std::string> reserved_node_port_claims(const state::DataplaneState& desired,
                                                   const std::vector<std::uint16_t>& reserved) {
  std::vector<std::string> out;
  for (const auto& np : desired.node_ports()) {
    if (std::find(reserved.begin(), reserved.end(), np.key.node_port) == reserved.end()) continue;
    out.push_back(state::to_string(np.key) + " of " + np.backend_set +
                  " is reserved on this node (reserved_node_ports); nothing was programmed: move "
                  "the app's node_port (portway apply) or change the node's reserved_node_ports");
  }
  return out;
}

}  // namespace portway::cli
