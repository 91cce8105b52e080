// The load-balancer object (bpf/portway_lb.bpf.c) as a loader::Skeleton, and its map fds.
#pragma once

#include "loader/lb_capacities.h"
#include "loader/lb_clock.h"
#include "loader/lb_maps.h"
#include "loader/skeleton.h"
#include "loader/xdp_features.h"
#include "portway_lb.skel.h"

namespace portway::loader {

// As PORTWAY_SKELETON_TRAITS, and every open also sets what the running kernel allows
// (xdp_features.h) in the rodata, so that no load site can forget it.
struct LbTraits {
  using Object = struct portway_lb;
  static constexpr std::string_view name = "portway_lb";
  static Object* open(const struct bpf_object_open_opts* opts) {
    Object* skel = portway_lb__open_opts(opts);
    if (skel != nullptr) skel->rodata->pw_handoff_by_metadata = xdp_metadata_supported() ? 1 : 0;
    return skel;
  }
  static int load(Object* skel) { return portway_lb__load(skel); }
  static void destroy(Object* skel) { portway_lb__destroy(skel); }
};
using LbSkeleton = Skeleton<LbTraits>;

// Opens the object, sizes its maps to `caps`, sets its clock (lb_clock.h) and loads it.
// Throws loader::Error.
[[nodiscard]] inline LbSkeleton open_and_load_lb(const LbCapacities& caps) {
  return LbSkeleton::open_and_load([&](portway_lb& s) {
    apply_capacities(s, caps);
    apply_clock(s, measure_jiffy_clock());
  });
}

// The fds of a loaded skeleton's maps (and of the programs that write the connection tables),
// borrowed (the skeleton keeps owning them).
[[nodiscard]] inline LbMapFds lb_map_fds(const portway_lb& skel) {
  return LbMapFds{
      .frontends = bpf_map__fd(skel.maps.pw_frontends),
      .service_addrs = bpf_map__fd(skel.maps.pw_service_addrs),
      .node_addrs = bpf_map__fd(skel.maps.pw_node_addrs),
      .backends = bpf_map__fd(skel.maps.pw_backends),
      .set_descs = bpf_map__fd(skel.maps.pw_set_descs),
      .maglev_slots = bpf_map__fd(skel.maps.pw_maglev_slots),
      .nexthops = bpf_map__fd(skel.maps.pw_nexthops),
      .flows = bpf_map__fd(skel.maps.pw_flows),
      .reverse = bpf_map__fd(skel.maps.pw_reverse),
      .fragments = bpf_map__fd(skel.maps.pw_fragments),
      .frontend_stats = bpf_map__fd(skel.maps.pw_frontend_stats),
      .backend_stats = bpf_map__fd(skel.maps.pw_backend_stats),
      .drops = bpf_map__fd(skel.maps.pw_drops),
      .interfaces = bpf_map__fd(skel.maps.pw_interfaces),
      .events = bpf_map__fd(skel.maps.pw_events),
      .frontend_gens = bpf_map__fd(skel.maps.pw_frontend_gens),
      .prefilter = bpf_map__fd(skel.maps.pw_prefilter),
      .frontends6 = bpf_map__fd(skel.maps.pw_frontends6),
      .service_addrs6 = bpf_map__fd(skel.maps.pw_service_addrs6),
      .node_addrs6 = bpf_map__fd(skel.maps.pw_node_addrs6),
      .backend_addrs6 = bpf_map__fd(skel.maps.pw_backend_addrs6),
      .set_descs6 = bpf_map__fd(skel.maps.pw_set_descs6),
      .nexthops6 = bpf_map__fd(skel.maps.pw_nexthops6),
      .flows6 = bpf_map__fd(skel.maps.pw_flows6),
      .reverse6 = bpf_map__fd(skel.maps.pw_reverse6),
      .fragments6 = bpf_map__fd(skel.maps.pw_fragments6),
      .uplinks = bpf_map__fd(skel.maps.pw_uplinks),
      .conn_sets = bpf_map__fd(skel.maps.pw_conn_sets),
      .conn_sets6 = bpf_map__fd(skel.maps.pw_conn_sets6),
      .conn_ctl4 = bpf_program__fd(skel.progs.pw_conn_ctl4),
      .conn_ctl6 = bpf_program__fd(skel.progs.pw_conn_ctl6),
  };
}

}  // namespace portway::loader
