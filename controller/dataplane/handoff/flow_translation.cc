#include "dataplane/handoff/flow_translation.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <type_traits>

namespace portway::dataplane::handoff {

net::Ipv4 FlowFamily<net::Ipv4>::from_wire(Wire a) { return net::Ipv4{ntohl(a)}; }
std::uint32_t FlowFamily<net::Ipv4>::to_wire(net::Ipv4 a) { return htonl(a.value); }

net::Ipv6 FlowFamily<net::Ipv6>::from_wire(const Wire& a) {
  net::Ipv6 out;
  std::memcpy(out.bytes.data(), &a, out.bytes.size());
  return out;
}
pw_in6 FlowFamily<net::Ipv6>::to_wire(const net::Ipv6& a) {
  pw_in6 out{};
  std::memcpy(&out, a.bytes.data(), sizeof(out));
  return out;
}

template <typename Addr>
BasicFastPathTables<Addr>::BasicFastPathTables(
    std::span<const std::pair<typename Family::FrontendKey, pw_frontend>> frontends, std::span<const Wire> node_addrs,
    std::span<const pw_backend> backends, std::span<const Wire> backend_addrs)
    : backends_(backends.begin(), backends.end()) {
  for (const auto& [k, v] : frontends) frontends_[{Family::from_wire(k.addr), k.port, k.proto, k.kind}] = v;
  for (const Wire& a : node_addrs) node_addrs_.push_back(Family::from_wire(a));
  backend_addrs_.resize(backends_.size());
  for (std::uint32_t id = 0; id < backends_.size(); ++id) {
    if constexpr (std::is_same_v<Addr, net::Ipv4>) {
      backend_addrs_[id] = Family::from_wire(backends_[id].addr);
    } else {
      if (id < backend_addrs.size()) backend_addrs_[id] = Family::from_wire(backend_addrs[id]);
    }
    const pw_backend& b = backends_[id];
    if (b.state == PW_BACKEND_RUNNING || b.state == PW_BACKEND_DRAINING) backend_ids_[{b.set_id, backend_addrs_[id]}] = id;
  }
}

template <>
FastPathTables FastPathTables::read(const loader::LbMaps& maps) {
  std::vector<std::uint32_t> addrs;
  for (const auto& [addr, value] : maps.node_addrs()) addrs.push_back(addr);
  return FastPathTables(maps.frontends(), addrs, maps.all_backends());
}

template <>
FastPathTables6 FastPathTables6::read(const loader::LbMaps& maps) {
  std::vector<pw_in6> addrs;
  for (const auto& [addr, value] : maps.node_addrs6()) addrs.push_back(addr);
  return FastPathTables6(maps.frontends6(), addrs, maps.all_backends(), maps.all_backend_addrs6());
}

template <typename Addr>
const pw_frontend* BasicFastPathTables<Addr>::frontend_of(const Addr& daddr, std::uint16_t dport,
                                                          std::uint8_t proto) const {
  // As the program looks: a service frontend by its address, else a node port on a node address.
  if (auto it = frontends_.find({daddr, dport, proto, PW_FRONTEND_SERVICE}); it != frontends_.end()) return &it->second;
  if (std::find(node_addrs_.begin(), node_addrs_.end(), daddr) == node_addrs_.end()) return nullptr;
  if (auto it = frontends_.find({Addr{}, dport, proto, PW_FRONTEND_NODE_PORT}); it != frontends_.end())
    return &it->second;
  return nullptr;
}

template <typename Addr>
std::optional<std::uint32_t> BasicFastPathTables<Addr>::backend_of(std::uint32_t set_id, const Addr& addr) const {
  const auto it = backend_ids_.find({set_id, addr});
  if (it == backend_ids_.end()) return std::nullopt;
  return it->second;
}

template <typename Addr>
bool BasicFastPathTables<Addr>::alive(const typename Family::Flow& f) const {
  if (f.backend_id >= backends_.size()) return false;
  return backends_[f.backend_id].state != PW_BACKEND_UNUSED &&
         backend_addrs_[f.backend_id] == Family::from_wire(f.backend_addr);
}

template <typename Addr>
BasicConverted<Addr> nat_flows_of(std::span<const BasicBpfFlow<Addr>> flows, const BasicFastPathTables<Addr>& tables,
                                  std::uint64_t now_ns) {
  using Family = FlowFamily<Addr>;
  BasicConverted<Addr> out;
  out.flows.reserve(flows.size());
  for (const auto& [k, f] : flows) {
    const pw_frontend* fe = tables.frontend_of(Family::from_wire(k.daddr), k.dport, k.proto);
    // A flow of an earlier gen of the id is one the program would no longer use.
    if (!fe || fe->id != f.frontend_id || fe->gen != f.frontend_gen || !tables.alive(f)) {
      ++out.dropped;
      continue;
    }
    conntrack::BasicNatFlow<Addr> n;
    n.protocol = k.proto;
    n.client = Family::from_wire(k.saddr);
    n.client_port = ntohs(k.sport);
    n.frontend = Family::from_wire(k.daddr);
    n.frontend_port = ntohs(k.dport);
    n.backend = Family::from_wire(f.backend_addr);
    n.backend_port = ntohs(f.target_port);
    if (f.flags & PW_FLOW_HAIRPIN) n.snat = Family::from_wire(f.snat_addr);
    const std::uint64_t idle_ns = now_ns > f.last_seen_ns ? now_ns - f.last_seen_ns : 0;
    n.idle = std::chrono::milliseconds(idle_ns / 1000000ull);
    out.flows.push_back(n);
  }
  return out;
}

template <typename Addr>
BasicConvertedBpf<Addr> bpf_flows_of(std::span<const conntrack::BasicNatFlow<Addr>> flows,
                                     const BasicFastPathTables<Addr>& tables, std::uint64_t now_ns) {
  using Family = FlowFamily<Addr>;
  BasicConvertedBpf<Addr> out;
  out.flows.reserve(flows.size());
  for (const auto& n : flows) {
    const std::uint16_t dport = htons(n.frontend_port);
    const pw_frontend* fe = tables.frontend_of(n.frontend, dport, n.protocol);
    const auto backend = fe ? tables.backend_of(fe->set_id, n.backend) : std::nullopt;
    if (!fe || !backend || htons(n.backend_port) != fe->target_port) {
      ++out.dropped;
      continue;
    }
    typename Family::Key k{};
    k.saddr = Family::to_wire(n.client);
    k.daddr = Family::to_wire(n.frontend);
    k.sport = htons(n.client_port);
    k.dport = dport;
    k.proto = n.protocol;
    typename Family::Flow f{};
    f.backend_id = *backend;
    f.backend_addr = Family::to_wire(n.backend);
    f.target_port = fe->target_port;
    f.frontend_id = fe->id;
    // The frontend's current gen, or the program takes the flow for one of a frontend that
    // held this id before and picks its backend anew (lb_abi.h, pw_frontend_gens).
    f.frontend_gen = fe->gen;
    if (n.snat) {
      f.flags = PW_FLOW_HAIRPIN;
      f.snat_addr = Family::to_wire(*n.snat);
    }
    f.last_seen_ns = now_ns;
    out.flows.emplace_back(k, f);
  }
  return out;
}

template class BasicFastPathTables<net::Ipv4>;
template class BasicFastPathTables<net::Ipv6>;
template BasicConverted<net::Ipv4> nat_flows_of<net::Ipv4>(std::span<const BpfFlow>, const FastPathTables&, std::uint64_t);
template BasicConverted<net::Ipv6> nat_flows_of<net::Ipv6>(std::span<const BpfFlow6>, const FastPathTables6&, std::uint64_t);
template BasicConvertedBpf<net::Ipv4> bpf_flows_of<net::Ipv4>(std::span<const conntrack::NatFlow>, const FastPathTables&,
                                                   std::uint64_t);
template BasicConvertedBpf<net::Ipv6> bpf_flows_of<net::Ipv6>(std::span<const conntrack::NatFlow6>, const FastPathTables6&,
                                                   std::uint64_t);

std::uint64_t coarse_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace portway::dataplane::handoff
