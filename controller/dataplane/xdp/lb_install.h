// Getting portway_lb into the kernel with everything pinned: maps reused across runs (so flows
// and counters survive a restart or an upgrade), programs pinned so new interfaces can be
// attached later without reloading.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/xdp/pin_layout.h"
#include "dataplane/xdp/socket_hooks.h"
#include "loader/lb_capacities.h"
#include "loader/lb_maps.h"
#include "loader/unique_fd.h"

namespace portway::dataplane::xdp {

// The pinned maps of an installed fast path, owned.
class PinnedLbMaps {
 public:
  static std::optional<PinnedLbMaps> open(const PinLayout& pins);  // nullopt: not installed
  loader::LbMapFds fds() const { return fds_; }

 private:
  loader::LbMapFds fds_;
  std::vector<loader::UniqueFd> owned_;
};

struct LoadedPrograms {
  loader::UniqueFd xdp;
  loader::UniqueFd tc;
  loader::UniqueFd tc_uplink;  // pw_tc_uplink
  SocketPrograms sock;  // kSocketHooks order
  std::uint64_t fingerprint = 0;
};

// The name of every map of portway_lb that is pinned under pins.maps().
std::vector<std::string> pinned_map_names();

// A stable fingerprint of the BPF object built into this binary: it changes when the
// programs change, so a sync after an upgrade knows to swap them in.
std::uint64_t embedded_object_fingerprint();

// Opens the embedded object, sizes its maps, points every map at its pin (libbpf reuses a
// compatible pinned map and pins a new one otherwise), loads, and pins both programs
// (replacing older program pins). Throws loader::Error; a pinned map whose size no longer
// matches the settings is reported as such.
LoadedPrograms load_and_pin(const PinLayout& pins, const loader::LbCapacities& caps);

// pw_flows' fill and evictions from the pins (loader::LbMaps::flow_fill); nullopt when the
// fast path is not installed.
std::optional<loader::FlowTableFill> read_flow_fill(const PinLayout& pins);

// The pinned programs, for attaching to interfaces that appeared since the last load.
std::optional<LoadedPrograms> open_pinned_programs(const PinLayout& pins);

}  // namespace portway::dataplane::xdp
