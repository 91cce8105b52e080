#include "dataplane/xdp/lb_install.h"

#include <unistd.h>

#include <bpf/libbpf.h>

#include <cerrno>
#include <span>

#include "loader/error.h"
#include "loader/lb_skeleton.h"
#include "loader/xdp_link.h"

namespace portway::dataplane::xdp {
namespace {

// Every map of bpf/lib/maps.h with its slot in LbMapFds: by name, so a map added to the
// object (and to LbMapFds) is one new line here, never a silent shift of positions.
struct MapSlot {
  const char* name;
  int loader::LbMapFds::*slot;
};
constexpr MapSlot kMaps[] = {
    {"pw_frontends", &loader::LbMapFds::frontends},
    {"pw_service_addrs", &loader::LbMapFds::service_addrs},
    {"pw_node_addrs", &loader::LbMapFds::node_addrs},
    {"pw_backends", &loader::LbMapFds::backends},
    {"pw_set_descs", &loader::LbMapFds::set_descs},
    {"pw_maglev_slots", &loader::LbMapFds::maglev_slots},
    {"pw_nexthops", &loader::LbMapFds::nexthops},
    {"pw_flows", &loader::LbMapFds::flows},
    {"pw_reverse", &loader::LbMapFds::reverse},
    {"pw_fragments", &loader::LbMapFds::fragments},
    {"pw_frontend_stats", &loader::LbMapFds::frontend_stats},
    {"pw_backend_stats", &loader::LbMapFds::backend_stats},
    {"pw_drops", &loader::LbMapFds::drops},
};

// Maps newer than the oldest pins an upgrade may find: opened when pinned, created (and
// pinned) by the next load.
constexpr MapSlot kOptionalMaps[] = {
    {"pw_interfaces", &loader::LbMapFds::interfaces},
    {"pw_events", &loader::LbMapFds::events},
    {"pw_frontend_gens", &loader::LbMapFds::frontend_gens},
    {"pw_prefilter", &loader::LbMapFds::prefilter},
    {"pw_frontends6", &loader::LbMapFds::frontends6},
    {"pw_service_addrs6", &loader::LbMapFds::service_addrs6},
    {"pw_node_addrs6", &loader::LbMapFds::node_addrs6},
    {"pw_backend_addrs6", &loader::LbMapFds::backend_addrs6},
    {"pw_set_descs6", &loader::LbMapFds::set_descs6},
    {"pw_nexthops6", &loader::LbMapFds::nexthops6},
    {"pw_flows6", &loader::LbMapFds::flows6},
    {"pw_reverse6", &loader::LbMapFds::reverse6},
    {"pw_fragments6", &loader::LbMapFds::fragments6},
    {"pw_uplinks", &loader::LbMapFds::uplinks},
    {"pw_conn_sets", &loader::LbMapFds::conn_sets},
    {"pw_conn_sets6", &loader::LbMapFds::conn_sets6},
};

// The programs that write the connection tables for the controller (lb_abi.h, pw_conn_ctl):
// pinned with the programs, opened with the maps, since LbMaps writes those tables through
// them.
struct CtlSlot {
  const char* program;
  const char* family;
  int loader::LbMapFds::*slot;
};
constexpr CtlSlot kConnCtls[] = {{"pw_conn_ctl4", "4", &loader::LbMapFds::conn_ctl4},
                                 {"pw_conn_ctl6", "6", &loader::LbMapFds::conn_ctl6}};

// Maps outside LbMapFds (loader/sock_maps.h): pinned and reused the same way.
constexpr const char* kSockMaps[] = {"pw_sock_config", "pw_sock_reverse", "pw_sock_reverse6"};

void replace_pin(int fd, const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) throw loader::Error("unpin", errno, path);
  loader::pin_object(fd, path);
}

}  // namespace

std::optional<PinnedLbMaps> PinnedLbMaps::open(const PinLayout& pins) {
  PinnedLbMaps m;
  for (const MapSlot& map : kMaps) {
    loader::UniqueFd fd = loader::open_pinned(pins.map(map.name));
    if (!fd) return std::nullopt;
    m.fds_.*map.slot = fd.get();
    m.owned_.push_back(std::move(fd));
  }
  for (const MapSlot& map : kOptionalMaps) {
    loader::UniqueFd fd = loader::open_pinned(pins.map(map.name));
    if (!fd) continue;
    m.fds_.*map.slot = fd.get();
    m.owned_.push_back(std::move(fd));
  }
  for (const CtlSlot& ctl : kConnCtls) {
    loader::UniqueFd fd = loader::open_pinned(pins.conn_ctl_prog(ctl.family));
    if (!fd) continue;  // pins older than layout 5: no connection tables either
    m.fds_.*ctl.slot = fd.get();
    m.owned_.push_back(std::move(fd));
  }
  return m;
}

std::vector<std::string> pinned_map_names() {
  std::vector<std::string> out;
  for (const MapSlot& map : kMaps) out.emplace_back(map.name);
  for (const MapSlot& map : kOptionalMaps) out.emplace_back(map.name);
  for (const char* name : kSockMaps) out.emplace_back(name);
  return out;
}

std::uint64_t embedded_object_fingerprint() {
  std::size_t size = 0;
  const auto* bytes = static_cast<const unsigned char*>(portway_lb::elf_bytes(&size));
  std::uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a 64
  for (std::size_t i = 0; i < size; ++i) {
    h ^= bytes[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

LoadedPrograms load_and_pin(const PinLayout& pins, const loader::LbCapacities& caps) {
  auto skel = loader::LbSkeleton::open();
  loader::apply_capacities(*skel, caps);
  loader::apply_clock(*skel, loader::measure_jiffy_clock());
  // Counting flows begins with this load when pw_events is new: the flows already there are
  // its baseline (lb_abi.h), or they would all look evicted once they go.
  const bool events_new = !loader::open_pinned(pins.map("pw_events"));
  for (const auto& slots : {std::span<const MapSlot>(kMaps), std::span<const MapSlot>(kOptionalMaps)}) {
    for (const MapSlot& slot : slots) {
      bpf_map* map = bpf_object__find_map_by_name(skel->obj, slot.name);
      if (!map) throw loader::Error("find map", ENOENT, slot.name);
      loader::check(bpf_map__set_pin_path(map, pins.map(slot.name).c_str()),
                    std::string("pin path of ") + slot.name);
    }
  }
  for (const char* name : kSockMaps) {
    bpf_map* map = bpf_object__find_map_by_name(skel->obj, name);
    if (!map) throw loader::Error("find map", ENOENT, name);
    loader::check(bpf_map__set_pin_path(map, pins.map(name).c_str()), std::string("pin path of ") + name);
  }
  try {
    skel.load();
  } catch (const loader::Error& e) {
    if (e.error_code() == EINVAL)
      throw loader::Error("load the fast path", EINVAL,
                          "a pinned map under " + pins.maps() +
                              " does not match the map sizes of the node settings; remove the "
                              "fast path first (portway sync --dataplane nft removes it) or "
                              "restore the settings");
    throw;
  }
  if (events_new) {
    loader::LbMaps maps(loader::lb_map_fds(*skel));
    maps.add_controller_event(PW_EV_FLOW_BASELINE, maps.flow_fill().entries);
  }
  LoadedPrograms out;
  out.xdp.reset(dup(bpf_program__fd(skel->progs.pw_xdp_uplink)));
  out.tc.reset(dup(bpf_program__fd(skel->progs.pw_tc_sandbox)));
  out.tc_uplink.reset(dup(bpf_program__fd(skel->progs.pw_tc_uplink)));
  if (!out.xdp || !out.tc || !out.tc_uplink) throw loader::Error("dup program fd", errno);
  replace_pin(out.xdp.get(), pins.xdp_prog());
  replace_pin(out.tc.get(), pins.tc_prog());
  replace_pin(out.tc_uplink.get(), pins.tc_uplink_prog());
  for (std::size_t i = 0; i < kSocketHooks.size(); ++i) {
    bpf_program* prog = bpf_object__find_program_by_name(skel->obj, kSocketHooks[i].program);
    if (!prog) throw loader::Error("find program", ENOENT, kSocketHooks[i].program);
    out.sock[i].reset(dup(bpf_program__fd(prog)));
    if (!out.sock[i]) throw loader::Error("dup program fd", errno, kSocketHooks[i].program);
    replace_pin(out.sock[i].get(), pins.sock_prog(kSocketHooks[i].name));
  }
  for (const CtlSlot& ctl : kConnCtls) {
    bpf_program* prog = bpf_object__find_program_by_name(skel->obj, ctl.program);
    if (!prog) throw loader::Error("find program", ENOENT, ctl.program);
    replace_pin(bpf_program__fd(prog), pins.conn_ctl_prog(ctl.family));
  }
  out.fingerprint = embedded_object_fingerprint();
  return out;  // the skeleton goes; maps stay through their pins, programs through ours
}

std::optional<loader::FlowTableFill> read_flow_fill(const PinLayout& pins) {
  const auto pinned = PinnedLbMaps::open(pins);
  if (!pinned) return std::nullopt;
  return loader::LbMaps(pinned->fds()).flow_fill();
}

std::optional<LoadedPrograms> open_pinned_programs(const PinLayout& pins) {
  LoadedPrograms p;
  p.xdp = loader::open_pinned(pins.xdp_prog());
  p.tc = loader::open_pinned(pins.tc_prog());
  p.tc_uplink = loader::open_pinned(pins.tc_uplink_prog());
  if (!p.xdp || !p.tc || !p.tc_uplink) return std::nullopt;  // older pins: load afresh
  for (std::size_t i = 0; i < kSocketHooks.size(); ++i) {
    p.sock[i] = loader::open_pinned(pins.sock_prog(kSocketHooks[i].name));
    if (!p.sock[i]) return std::nullopt;  // pins of an older version: load afresh
  }
  // Not attached anywhere, but LbMaps writes the connection tables through them: a missing
  // one (pins older than layout 5, or a deleted pin) is a load too, which pins them again.
  for (const CtlSlot& ctl : kConnCtls)
    if (!loader::open_pinned(pins.conn_ctl_prog(ctl.family))) return std::nullopt;
  return p;
}

}  // namespace portway::dataplane::xdp
