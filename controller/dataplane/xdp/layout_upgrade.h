// Loading this build's programs over pins of an older pinned layout (lb_abi.h
// PW_LAYOUT_VERSION; docs/xdp-dataplane.md, "Pinned layout and upgrades").
//
// Layout 2 kept the key and value size of every layout-1 map, so libbpf reuses them as they
// are (flows, frontends, backends, Maglev tables: established flows keep their backend); only
// pw_drops and pw_events grew. libbpf refuses to reuse a pinned map of another size, so those
// two are unpinned before the load (the running programs keep using them), the load creates and
// pins the new ones, and the counters are carried across twice: all of them right after the
// load (no program uses the new maps yet, so the copy is exact), and what the old programs
// counted since then once every attachment runs the new programs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/pin_layout.h"
#include "dataplane/newer_layout.h"
#include "loader/lb_maps.h"
#include "loader/unique_fd.h"

namespace portway::dataplane::xdp {

// The layout of the pins under `pins` (MetaMaps::pinned_layout: 0 when none); throws
// dataplane::NewerLayout (exit 2) when it is newer than PW_LAYOUT_VERSION.
std::uint32_t refuse_newer_layout(const PinLayout& pins);

// The counters of an upgrade's resized maps, between the load and the end of the attachments.
class CounterCarry {
 public:
  // Loads and pins this build's programs (load_and_pin), first unpinning each pinned counter
  // map whose size differs from this layout's. When the load fails, those pins are put back
  // (the pins are as before, the old programs keep running: a retry starts over); when it
  // succeeds, the new maps hold the old counters.
  LoadedPrograms load(const PinLayout& pins, const loader::LbCapacities& caps);

  // Once no attachment runs the old programs: adds what they counted since the load. Called
  // with nothing carried, does nothing. The held old maps are released.
  void finish(const PinLayout& pins);

  bool carrying() const { return !carried_.empty(); }

 private:
  struct Carried {
    std::string name;
    loader::UniqueFd old_map;
    std::vector<std::uint64_t> copied;  // per key, per CPU: what the load's copy wrote
  };
  std::vector<Carried> carried_;
};

// Layout 4's connection maps, the LRU hashes pw_conns and pw_conns6, which layout 5 replaced
// with the set tables pw_conn_sets/pw_conn_sets6 (lb_abi.h). The new load leaves them pinned
// (the old programs, attached until the attachments are replaced, keep writing them); their
// connections are written into the new tables twice, as the counters: right after the load
// (begin), and once every attachment runs the new programs (finish), which then unpins them.
// A connection the new programs created meanwhile keeps its entry; an old one of the same
// client to another frontend goes to pw_flows, as the programs would place it.
class ConnCarry {
 public:
  // Opens the old pins, if any, and writes their connections into `maps`. Returns how many.
  std::size_t begin(const PinLayout& pins, loader::LbMaps& maps);
  // Writes them again (what the old programs added since), then unpins them. Returns how many
  // connections the old maps held; 0 with nothing carried.
  std::size_t finish(const PinLayout& pins, loader::LbMaps& maps);
  bool carrying() const { return conns_ || conns6_; }

 private:
  std::size_t copy(loader::LbMaps& maps) const;
  loader::UniqueFd conns_, conns6_;
};

}  // namespace portway::dataplane::xdp
