#include "dataplane/xdp/flow_listing.h"

#include <arpa/inet.h>
#include <time.h>

#include "dataplane/xdp/lb_install.h"

namespace portway::dataplane::xdp {
namespace {

// pw_flow.last_seen_ns is bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC at jiffy resolution.
std::uint64_t monotonic_coarse_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

net::Ipv4 host(std::uint32_t be) { return net::Ipv4{ntohl(be)}; }

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
    // A flow touched after `now` was read (another CPU) is idle 0.
    row.idle = std::chrono::milliseconds(now > flow.last_seen_ns ? (now - flow.last_seen_ns) / 1000000 : 0);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace portway::dataplane::xdp
