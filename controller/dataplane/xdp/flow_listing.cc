#include "dataplane/xdp/flow_listing.h"

#include <arpa/inet.h>
#include <time.h>

#include "dataplane/xdp/installed_view.h"
#include "dataplane/xdp/lb_install.h"

namespace portway::dataplane::xdp {
namespace {

// pw_flow.last_seen_ns is CLOCK_MONOTONIC at tick resolution (bpf/lib/clock.h).
std::uint64_t monotonic_coarse_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

net::Ipv4 host(std::uint32_t be) { return net::Ipv4{ntohl(be)}; }

// A flow touched after `now` was read (another CPU) is idle 0.
std::chrono::milliseconds idle_since(std::uint64_t now, std::uint64_t last_seen_ns) {
  return std::chrono::milliseconds(now > last_seen_ns ? (now - last_seen_ns) / 1000000 : 0);
}

// pw_flows6: a flow's backend is gone when its slot is unused or holds another IPv6 address.
void list_flows6(const loader::LbMaps& maps, const std::vector<pw_backend>& backends, std::uint64_t now,
                 std::vector<ListedFlow>& out) {
  const std::vector<pw_in6> addrs6 = maps.all_backend_addrs6();
  for (const auto& [key, flow] : maps.flows6()) {
    ListedFlow row;
    row.protocol = key.proto;
    row.client = ipv6_of(key.saddr);
    row.client_port = ntohs(key.sport);
    row.frontend = ipv6_of(key.daddr);
    row.frontend_port = ntohs(key.dport);
    row.backend = ipv6_of(flow.backend_addr);
    row.backend_port = ntohs(flow.target_port);
    if (flow.flags & PW_FLOW_HAIRPIN) row.snat = ipv6_of(flow.snat_addr);
    const bool gone = flow.backend_id >= backends.size() || flow.backend_id >= addrs6.size() ||
                      ipv6_of(addrs6[flow.backend_id]) != ipv6_of(flow.backend_addr) ||
                      backends[flow.backend_id].state == PW_BACKEND_UNUSED;
    if (gone) row.state = "backend gone";
    row.idle = idle_since(now, flow.last_seen_ns);
    out.push_back(std::move(row));
  }
}

}  // namespace

std::optional<std::vector<ListedFlow>> read_flows(const PinLayout& pins) {
  const auto pinned = PinnedLbMaps::open(pins);
  if (!pinned) return std::nullopt;
  const loader::LbMaps maps(pinned->fds());
  const std::vector<pw_backend> backends = maps.all_backends();
  const std::uint64_t now = monotonic_coarse_ns();
  std::vector<ListedFlow> out;
  for (const auto& [key, flow] : maps.flows()) {
    ListedFlow row;
    row.protocol = key.proto;
    row.client = host(key.saddr);
    row.client_port = ntohs(key.sport);
    row.frontend = host(key.daddr);
    row.frontend_port = ntohs(key.dport);
    row.backend = host(flow.backend_addr);
    row.backend_port = ntohs(flow.target_port);
    if (flow.flags & PW_FLOW_HAIRPIN) row.snat = host(flow.snat_addr);
    const bool gone = flow.backend_id >= backends.size() || backends[flow.backend_id].addr != flow.backend_addr ||
                      backends[flow.backend_id].state == PW_BACKEND_UNUSED;
    if (gone) row.state = "backend gone";
    row.idle = idle_since(now, flow.last_seen_ns);
    out.push_back(std::move(row));
  }
  list_flows6(maps, backends, now, out);
  return out;
}

std::optional<loader::FlowTableFill> read_flow6_fill(const PinLayout& pins) {
  const auto pinned = PinnedLbMaps::open(pins);
  if (!pinned) return std::nullopt;
  return loader::LbMaps(pinned->fds()).flow6_fill();
}

}  // namespace portway::dataplane::xdp
