#include "dataplane/handoff/flow_translation.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <ctime>

namespace portway::dataplane::handoff {

FastPathTables::FastPathTables(std::span<const std::pair<pw_frontend_key, pw_frontend>> frontends,
                               std::span<const std::uint32_t> node_addrs, std::span<const pw_backend> backends)
    : node_addrs_(node_addrs.begin(), node_addrs.end()), backends_(backends.begin(), backends.end()) {
  for (const auto& [k, v] : frontends) frontends_[{k.addr, k.port, k.proto, k.kind}] = v;
  for (std::uint32_t id = 0; id < backends_.size(); ++id) {
    const pw_backend& b = backends_[id];
    if (b.state == PW_BACKEND_RUNNING || b.state == PW_BACKEND_DRAINING) backend_ids_[{b.set_id, b.addr}] = id;
  }
}

FastPathTables FastPathTables::read(const loader::LbMaps& maps) {
  std::vector<std::uint32_t> addrs;
  for (const auto& [addr, value] : maps.node_addrs()) addrs.push_back(addr);
  return FastPathTables(maps.frontends(), addrs, maps.all_backends());
}

const pw_frontend* FastPathTables::frontend_of(std::uint32_t daddr, std::uint16_t dport, std::uint8_t proto) const {
  // As the program looks: a service frontend by its address, else a node port on a node address.
  if (auto it = frontends_.find({daddr, dport, proto, PW_FRONTEND_SERVICE}); it != frontends_.end()) return &it->second;
  if (std::find(node_addrs_.begin(), node_addrs_.end(), daddr) == node_addrs_.end()) return nullptr;
  if (auto it = frontends_.find({0, dport, proto, PW_FRONTEND_NODE_PORT}); it != frontends_.end()) return &it->second;
  return nullptr;
}

std::optional<std::uint32_t> FastPathTables::backend_of(std::uint32_t set_id, std::uint32_t addr) const {
  const auto it = backend_ids_.find({set_id, addr});
  if (it == backend_ids_.end()) return std::nullopt;
  return it->second;
}

bool FastPathTables::alive(const pw_flow& f) const {
  if (f.backend_id >= backends_.size()) return false;
  const pw_backend& b = backends_[f.backend_id];
  return b.state != PW_BACKEND_UNUSED && b.addr == f.backend_addr;
}

Converted nat_flows_of(std::span<const BpfFlow> flows, const FastPathTables& tables, std::uint64_t now_ns) {
  Converted out;
  out.flows.reserve(flows.size());
  for (const auto& [k, f] : flows) {
    const pw_frontend* fe = tables.frontend_of(k.daddr, k.dport, k.proto);
    if (!fe || fe->id != f.frontend_id || !tables.alive(f)) {
      ++out.dropped;
      continue;
    }
    conntrack::NatFlow n;
    n.protocol = k.proto;
    n.client = net::Ipv4{ntohl(k.saddr)};
    n.client_port = ntohs(k.sport);
    n.frontend = net::Ipv4{ntohl(k.daddr)};
    n.frontend_port = ntohs(k.dport);
    n.backend = net::Ipv4{ntohl(f.backend_addr)};
    n.backend_port = ntohs(f.target_port);
    if (f.flags & PW_FLOW_HAIRPIN) n.snat = net::Ipv4{ntohl(f.snat_addr)};
    const std::uint64_t idle_ns = now_ns > f.last_seen_ns ? now_ns - f.last_seen_ns : 0;
    n.idle = std::chrono::milliseconds(idle_ns / 1000000ull);
    out.flows.push_back(n);
  }
  return out;
}

ConvertedBpf bpf_flows_of(std::span<const conntrack::NatFlow> flows, const FastPathTables& tables,
                          std::uint64_t now_ns) {
  ConvertedBpf out;
  out.flows.reserve(flows.size());
  for (const auto& n : flows) {
    const std::uint32_t daddr = htonl(n.frontend.value);
    const std::uint16_t dport = htons(n.frontend_port);
    const pw_frontend* fe = tables.frontend_of(daddr, dport, n.protocol);
    const std::uint32_t backend_addr = htonl(n.backend.value);
    const auto backend = fe ? tables.backend_of(fe->set_id, backend_addr) : std::nullopt;
    if (!fe || !backend || htons(n.backend_port) != fe->target_port) {
      ++out.dropped;
      continue;
    }
    pw_flow_key k{};
    k.saddr = htonl(n.client.value);
    k.daddr = daddr;
    k.sport = htons(n.client_port);
    k.dport = dport;
    k.proto = n.protocol;
    pw_flow f{};
    f.backend_id = *backend;
    f.backend_addr = backend_addr;
    f.target_port = fe->target_port;
    f.frontend_id = fe->id;
    if (n.snat) {
      f.flags = PW_FLOW_HAIRPIN;
      f.snat_addr = htonl(n.snat->value);
    }
    f.last_seen_ns = now_ns;
    out.flows.emplace_back(k, f);
  }
  return out;
}

std::uint64_t coarse_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace portway::dataplane::handoff
