// Applies a StateDiff to the fast path's maps, in the order diff.h prescribes, so a packet
// never meets a reference to something not yet (or no longer) there: sets before the
// frontends that use them, frontends removed before their sets.
#pragma once

#include <cstdint>

#include "dataplane/xdp/installed_view.h"
#include "dataplane/xdp/meta_maps.h"
#include "loader/lb_maps.h"
#include "state/diff.h"

namespace portway::dataplane::xdp {

class MapProgrammer {
 public:
  MapProgrammer(loader::LbMaps& maps, MetaMaps& meta, InstalledView& view,
                std::uint32_t smallest_maglev_table)
      : maps_(maps), meta_(meta), view_(view), smallest_table_(smallest_maglev_table) {}

  // Changes the maps by `d` and updates the view (ids and state) to match.
  void apply(const state::StateDiff& d);

 private:
  void repair_stale_tables(const state::StateDiff& d);
  void add_set(const state::BackendSet& set);
  void change_set(const state::BackendSetChange& change);
  void remove_set(const state::BackendSet& set);
  void install_table(std::uint32_t set_id, const std::vector<state::Member>& members);
  void put_member(std::uint32_t set_id, const state::Member& m);
  void write_entry(const pw_frontend_key& key, std::uint32_t id, const std::string& backend_set,
                   std::uint16_t target_port, const std::string& port_name);
  void put_frontend(const state::Frontend& f, bool is_new);
  void put_node_port(const state::NodePort& n, bool is_new);
  void remove_frontend(const state::Frontend& f);
  void remove_node_port(const state::NodePort& n);
  void sync_service_addr(std::uint32_t addr_host_order);

  loader::LbMaps& maps_;
  MetaMaps& meta_;
  InstalledView& view_;
  std::uint32_t smallest_table_;
};

}  // namespace portway::dataplane::xdp
