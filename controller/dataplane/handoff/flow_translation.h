// The fast path's flow table and kernel conntrack describe the same translated flows in two
// shapes (include/portway/lb_abi.h pw_flows/pw_reverse; conntrack entries with NAT). These
// convert between them, checked against the fast path's tables so that only flows the
// receiving dataplane would itself have kept are carried: the frontend exists, the backend is
// a running or draining member of the frontend's set at the frontend's target port.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include "dataplane/conntrack/nat_flow.h"
#include "loader/lb_maps.h"
#include "portway/lb_abi.h"

namespace portway::dataplane::handoff {

using BpfFlow = std::pair<pw_flow_key, pw_flow>;

// What the fast path's maps say about frontends, node addresses and backends.
class FastPathTables {
 public:
  FastPathTables(std::span<const std::pair<pw_frontend_key, pw_frontend>> frontends,
                 std::span<const std::uint32_t> node_addrs,  // network order
                 std::span<const pw_backend> backends);      // index = backend id
  static FastPathTables read(const loader::LbMaps& maps);

  // The frontend a packet to (daddr, dport, proto) hits (network order), or null.
  const pw_frontend* frontend_of(std::uint32_t daddr, std::uint16_t dport, std::uint8_t proto) const;
  // The running or draining backend of `set_id` at `addr` (network order), or nullopt.
  std::optional<std::uint32_t> backend_of(std::uint32_t set_id, std::uint32_t addr) const;
  // The backend still holds the sandbox the flow was sent to, running or draining.
  bool alive(const pw_flow& f) const;

 private:
  using FrontendKey = std::tuple<std::uint32_t, std::uint16_t, std::uint8_t, std::uint8_t>;
  std::map<FrontendKey, pw_frontend> frontends_;
  std::vector<std::uint32_t> node_addrs_;
  std::vector<pw_backend> backends_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> backend_ids_;  // (set, addr)
};

struct Converted {
  std::vector<conntrack::NatFlow> flows;
  std::size_t dropped = 0;  // not carried: frontend gone, backend gone or not in the set
};
struct ConvertedBpf {
  std::vector<BpfFlow> flows;
  std::size_t dropped = 0;
};

// Fast path -> conntrack. `now_ns` is bpf_ktime_get_coarse_ns()'s clock (CLOCK_MONOTONIC):
// a flow's idle time is now_ns - last_seen_ns.
Converted nat_flows_of(std::span<const BpfFlow> flows, const FastPathTables& tables, std::uint64_t now_ns);

// Conntrack -> fast path: the pw_flows entries (their reverse entries follow from them,
// loader::reverse_key_of), last seen `now_ns`. Entries that are not translations to a frontend
// of the fast path (another program's NAT) are dropped.
ConvertedBpf bpf_flows_of(std::span<const conntrack::NatFlow> flows, const FastPathTables& tables,
                          std::uint64_t now_ns);

// CLOCK_MONOTONIC_COARSE in ns, the clock of the flows' last_seen_ns.
std::uint64_t coarse_now_ns();

}  // namespace portway::dataplane::handoff
