// The fast path's flow table and kernel conntrack describe the same translated flows in two
// shapes (include/portway/lb_abi.h: one flow table per family, pw_conns with pw_flows/pw_reverse
// for what it cannot hold, read and written through loader::LbMaps as one table; conntrack
// entries with NAT). These convert between them, checked against the fast path's tables so
// that only flows the receiving dataplane would itself have kept are carried: the frontend
// exists, the backend is a running or draining member of the frontend's set at the frontend's
// target port. Both families work alike: the templates below take net::Ipv4 or net::Ipv6.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include "dataplane/conntrack/nat_flow.h"
#include "loader/lb_maps.h"
#include "portway/lb_abi.h"

namespace portway::dataplane::handoff {

// The fast path's structs of a family and its addresses as they are stored there ("wire":
// network order).
template <typename Addr>
struct FlowFamily;

template <>
struct FlowFamily<net::Ipv4> {
  using Wire = std::uint32_t;
  using FrontendKey = pw_frontend_key;
  using Key = pw_flow_key;
  using Flow = pw_flow;
  static net::Ipv4 from_wire(Wire a);
  static Wire to_wire(net::Ipv4 a);
};

template <>
struct FlowFamily<net::Ipv6> {
  using Wire = pw_in6;
  using FrontendKey = pw_frontend6_key;
  using Key = pw_flow6_key;
  using Flow = pw_flow6;
  static net::Ipv6 from_wire(const Wire& a);
  static Wire to_wire(const net::Ipv6& a);
};

template <typename Addr>
using BasicBpfFlow = std::pair<typename FlowFamily<Addr>::Key, typename FlowFamily<Addr>::Flow>;
using BpfFlow = BasicBpfFlow<net::Ipv4>;
using BpfFlow6 = BasicBpfFlow<net::Ipv6>;

// What the fast path's maps say about one family's frontends, node addresses and backends.
template <typename Addr>
class BasicFastPathTables {
 public:
  using Family = FlowFamily<Addr>;
  using Wire = typename Family::Wire;
  // Backends: index = backend id. `backend_addrs` (same index) are the backends' addresses of
  // this family; empty for IPv4, whose address is pw_backend.addr.
  BasicFastPathTables(std::span<const std::pair<typename Family::FrontendKey, pw_frontend>> frontends,
                      std::span<const Wire> node_addrs, std::span<const pw_backend> backends,
                      std::span<const Wire> backend_addrs = {});
  static BasicFastPathTables read(const loader::LbMaps& maps);

  // The frontend a packet to (daddr, dport, proto) hits (dport in network order), or null.
  const pw_frontend* frontend_of(const Addr& daddr, std::uint16_t dport, std::uint8_t proto) const;
  // The running or draining backend of `set_id` at `addr`, or nullopt.
  std::optional<std::uint32_t> backend_of(std::uint32_t set_id, const Addr& addr) const;
  // The backend still holds the sandbox the flow was sent to, running or draining.
  bool alive(const typename Family::Flow& f) const;

 private:
  using FrontendKey = std::tuple<Addr, std::uint16_t, std::uint8_t, std::uint8_t>;
  std::map<FrontendKey, pw_frontend> frontends_;
  std::vector<Addr> node_addrs_;
  std::vector<pw_backend> backends_;
  std::vector<Addr> backend_addrs_;
  std::map<std::pair<std::uint32_t, Addr>, std::uint32_t> backend_ids_;  // (set, addr)
};
using FastPathTables = BasicFastPathTables<net::Ipv4>;
using FastPathTables6 = BasicFastPathTables<net::Ipv6>;
template <>
FastPathTables FastPathTables::read(const loader::LbMaps& maps);
template <>
FastPathTables6 FastPathTables6::read(const loader::LbMaps& maps);

template <typename Addr>
struct BasicConverted {
  std::vector<conntrack::BasicNatFlow<Addr>> flows;
  std::size_t dropped = 0;  // not carried: frontend gone, backend gone or not in the set
};
template <typename Addr>
struct BasicConvertedBpf {
  std::vector<BasicBpfFlow<Addr>> flows;
  std::size_t dropped = 0;
};
using Converted = BasicConverted<net::Ipv4>;
using ConvertedBpf = BasicConvertedBpf<net::Ipv4>;

// Fast path -> conntrack. `now_ns` is the fast path's clock (CLOCK_MONOTONIC, bpf/lib/clock.h):
// a flow's idle time is now_ns - last_seen_ns.
template <typename Addr>
BasicConverted<Addr> nat_flows_of(std::span<const BasicBpfFlow<Addr>> flows, const BasicFastPathTables<Addr>& tables,
                                  std::uint64_t now_ns);

// Conntrack -> fast path: the flows (LbMaps::upsert_flows places them as the programs would,
// and derives what the reply direction reads), last seen `now_ns`. Entries that are not translations to a frontend
// of the fast path (another program's NAT) are dropped.
template <typename Addr>
BasicConvertedBpf<Addr> bpf_flows_of(std::span<const conntrack::BasicNatFlow<Addr>> flows,
                                     const BasicFastPathTables<Addr>& tables, std::uint64_t now_ns);

// The IPv4 forms with their element types spelled out, so callers convert spans implicitly.
inline Converted nat_flows_of(std::span<const BpfFlow> flows, const FastPathTables& tables, std::uint64_t now_ns) {
  return nat_flows_of<net::Ipv4>(flows, tables, now_ns);
}
inline ConvertedBpf bpf_flows_of(std::span<const conntrack::NatFlow> flows, const FastPathTables& tables,
                                 std::uint64_t now_ns) {
  return bpf_flows_of<net::Ipv4>(flows, tables, now_ns);
}

// CLOCK_MONOTONIC_COARSE in ns, the clock of the flows' last_seen_ns.
std::uint64_t coarse_now_ns();

}  // namespace portway::dataplane::handoff
