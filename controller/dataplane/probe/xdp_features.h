// A network device's XDP capabilities from the netdev generic netlink family (Linux 6.3+):
// asking is free of side effects, unlike attaching a test program (which makes some drivers
// reset their rings, a traffic blip on a live uplink).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace portway::dataplane::probe {

inline constexpr std::uint64_t kXdpActBasic = 1;     // NETDEV_XDP_ACT_BASIC: native XDP
inline constexpr std::uint64_t kXdpActRedirect = 2;  // NETDEV_XDP_ACT_REDIRECT

struct XdpFeatures {
  std::optional<std::uint64_t> mask;  // nullopt: the kernel has no netdev family (< 6.3)
  std::string error;                  // when the query itself failed (no such device, ...)
};

XdpFeatures query_xdp_features(unsigned ifindex);

}  // namespace portway::dataplane::probe
