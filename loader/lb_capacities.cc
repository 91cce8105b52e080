#include "loader/lb_capacities.h"

#include <cerrno>
#include <string>

#include "loader/error.h"
#include "loader/lb_skeleton.h"

namespace portway::loader {
namespace {

void set_size(bpf_map* map, std::uint32_t entries, const char* what) {
  const std::string step = std::string{"set max_entries of "} + bpf_map__name(map);
  if (entries == 0) {
    throw Error(step, EINVAL, std::string{what} + " capacity must be at least 1");
  }
  check(bpf_map__set_max_entries(map, entries), step);
}

}  // namespace

void apply_capacities(portway_lb& skel, const LbCapacities& caps) {
  set_size(skel.maps.pw_frontends, caps.frontends, "frontends");
  set_size(skel.maps.pw_frontend_stats, caps.frontends, "frontends");
  set_size(skel.maps.pw_service_addrs, caps.service_addrs, "service_addrs");
  set_size(skel.maps.pw_node_addrs, caps.node_addrs, "node_addrs");
  set_size(skel.maps.pw_backends, caps.backends, "backends");
  set_size(skel.maps.pw_backend_stats, caps.backends, "backends");
  set_size(skel.maps.pw_nexthops, caps.backends, "backends");
  set_size(skel.maps.pw_set_descs, caps.backend_sets, "backend_sets");
  if (caps.maglev_slots > (1u << 31)) {
    throw Error("set max_entries of pw_maglev_slots", EINVAL, "maglev_slots above 2^31");
  }
  set_size(skel.maps.pw_maglev_slots,
           (caps.maglev_slots + PW_MAGLEV_CHUNK_SLOTS - 1) / PW_MAGLEV_CHUNK_SLOTS,
           "maglev_slots");
  set_size(skel.maps.pw_flows, caps.flows, "flows");
  set_size(skel.maps.pw_reverse, caps.flows, "flows");
  // One entry per translated socket of the node: bounded by the flows the node tracks.
  set_size(skel.maps.pw_sock_reverse, caps.flows, "flows");
  set_size(skel.maps.pw_fragments, caps.fragments, "fragments");
  // Layout 2: the IPv6 maps take the sizes of their IPv4 counterparts, the gens one per
  // frontend id.
  set_size(skel.maps.pw_frontend_gens, caps.frontends, "frontends");
  set_size(skel.maps.pw_frontends6, caps.frontends, "frontends");
  set_size(skel.maps.pw_service_addrs6, caps.service_addrs, "service_addrs");
  set_size(skel.maps.pw_node_addrs6, caps.node_addrs, "node_addrs");
  set_size(skel.maps.pw_backend_addrs6, caps.backends, "backends");
  set_size(skel.maps.pw_nexthops6, caps.backends, "backends");
  set_size(skel.maps.pw_set_descs6, caps.backend_sets, "backend_sets");
  set_size(skel.maps.pw_flows6, caps.flows, "flows");
  set_size(skel.maps.pw_reverse6, caps.flows, "flows");
  // Layout 5: the connection tables in sets, 1.25 ways per flow (lb_abi.h, pw_conn_sets); the
  // programs index them with the set count from their rodata, which must be the maps' size.
  const auto sets = static_cast<std::uint32_t>(PW_CONN_SETS_FOR(caps.flows));
  set_size(skel.maps.pw_conn_sets, sets, "flows");
  set_size(skel.maps.pw_conn_sets6, sets, "flows");
  skel.rodata->pw_conn_sets_n = sets;
  set_size(skel.maps.pw_sock_reverse6, caps.flows, "flows");
  set_size(skel.maps.pw_fragments6, caps.fragments, "fragments");
}

}  // namespace portway::loader
