// The node settings file (`--node FILE`, docs/cli.md): where the dataplane attaches, the service
// address pools, the reserved node ports, and map capacities. Unknown keys are errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/app_parser.h"
#include "config/diagnostic.h"
#include "net/ip_prefix.h"

namespace portway::config {

enum class DataplaneChoice : std::uint8_t { automatic, xdp, nft };
std::string_view to_string(DataplaneChoice d);
std::optional<DataplaneChoice> parse_dataplane_choice(std::string_view s);

// BPF map capacities: runtime settings, so a node sizes them without a rebuild.
// docs/operations.md gives the memory each one costs.
struct MapCapacities {
  std::uint32_t frontends = 65536;      // service (addr, port, proto) + node-port entries
  std::uint32_t backends = 65536;       // backend slots across all backend sets
  std::uint32_t backend_sets = 16384;   // one descriptor each
  std::uint32_t maglev_table_size = 4093;  // prime M; imbalance <= 5% needs N <= M/100
  // All Maglev tables share one slot array (4 bytes a slot, preallocated): room for every
  // set's table plus spare room, so a change writes into free slots without waiting.
  std::uint32_t maglev_slots = 16777216;
  std::uint32_t conntrack = 262144;     // flows tracked (LRU)
  bool operator==(const MapCapacities&) const = default;
};

// A TCP address to listen on: an IP literal (no name lookup) and a port.
struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1" (without brackets)
  std::uint16_t port = 0;
  bool operator==(const ListenAddress&) const = default;
};
// "127.0.0.1:9462", "[::1]:9462"
std::string to_string(const ListenAddress& a);
// nullopt with `why` set when `text` is not "IPV4:PORT" or "[IPV6]:PORT" (port 1..65535).
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* why = nullptr);

struct NodeSettings {
  std::vector<std::string> uplinks{"eth0"};
  std::vector<std::string> node_addresses;  // empty = the uplinks' addresses
  std::vector<std::string> sandbox_interfaces{"veth*"};
  net::Ipv4Prefix service_cidr{net::Ipv4{0x0A0A0000}, 16};  // 10.10.0.0/16, Miren's default
  std::optional<net::Ipv6Prefix> service_cidr6;
  std::vector<std::uint16_t> reserved_node_ports{22, 80, 443, 8443};
  DataplaneChoice dataplane = DataplaneChoice::automatic;
  std::string bpffs_dir = "/sys/fs/bpf/portway";
  // cgroup v2 directory of the socket hooks (host-originated connections); empty = the
  // hierarchy's root, i.e. every process on the node.
  std::string cgroup;
  MapCapacities maps;
  // The daemon (docs/api.md): its API's unix socket ("" = no API), the group that may use
  // it ("" = root only), where it serves metrics and health (nullopt = nowhere), and how
  // often it reads the kernel back to repair drift.
  std::string api_socket = "/run/portway/portway.sock";
  std::string api_group;
  std::optional<ListenAddress> metrics_address = ListenAddress{"127.0.0.1", 9462};
  std::uint32_t resync_seconds = 30;

  ValidationOptions validation_options() const { return {reserved_node_ports}; }
  bool operator==(const NodeSettings&) const = default;
};

struct NodeSettingsOutcome {
  std::optional<NodeSettings> settings;  // set iff errors is empty
  std::vector<Diagnostic> errors;
};

NodeSettingsOutcome parse_node_settings(std::string_view text, const std::string& file);

}  // namespace portway::config
