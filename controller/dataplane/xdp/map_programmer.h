// Applies a StateDiff to the fast path's maps, in the order diff.h prescribes, so a packet
// never meets a reference to something not yet (or no longer) there: sets (members, then
// tables) before the frontends that use them, frontends removed before their sets. Writes of
// one kind are batched (one syscall per map), Maglev tables are built on all cores and
// switched together.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

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
  // A set whose Maglev table is (re)built: its id and its members after the change.
  struct TableJob {
    std::uint32_t set_id;
    const std::vector<state::Member>* members;
    loader::SetFamily family = loader::SetFamily::ipv4;
  };
  // What put_member writes: pw_backends entries, and each member's IPv6 address (all zero
  // for none) for pw_backend_addrs6.
  struct MemberWrites {
    std::vector<std::pair<std::uint32_t, pw_backend>> backends;
    std::vector<std::pair<std::uint32_t, pw_in6>> addrs6;
  };

  void put_member(std::uint32_t set_id, const state::Member& m, MemberWrites& writes);
  void write_members(const MemberWrites& writes);
  // One job per family for the set (the IPv6 one only with the IPv6 maps).
  void add_table_jobs(std::vector<TableJob>& jobs, std::uint32_t set_id,
                      const std::vector<state::Member>* members) const;
  void install_tables(const std::vector<TableJob>& jobs);
  std::vector<std::uint32_t> build_table(const TableJob& job) const;
  std::vector<state::Member> carry_backend_ids(std::uint32_t set_id,
                                               const std::vector<state::Member>& removed,
                                               const std::vector<state::Member>& added);
  void release_members(std::uint32_t set_id, const std::vector<state::Member>& members);
  void remove_set(const state::BackendSet& set);
  pw_frontend entry(std::uint32_t id, std::uint32_t gen, const std::string& backend_set,
                    std::uint16_t target_port) const;
  // Both return the id they released (its gen is bumped by the caller).
  std::optional<std::uint32_t> remove_frontend(const state::Frontend& f);
  std::optional<std::uint32_t> remove_node_port(const state::NodePort& n);
  void sync_service_addrs(const std::set<std::uint32_t>& addrs_host_order);
  // IPv6 (pw_frontends6, pw_service_addrs6): each node port has an entry in both families'
  // maps, with one id; IPv6 service frontends use the IPv6 table of their set.
  void put_frontend6(const state::Frontend& f, const pw_frontend& value);
  void put_node_port6(const state::NodePort& n, const pw_frontend& value);
  void write_frontends6();
  void rewrite_stale_node_ports(const state::StateDiff& d,
                                std::vector<std::pair<pw_frontend_key, pw_frontend>>& entries);
  void remove_orphan_frontends6();
  void sync_service_addrs6(const std::set<net::Ipv6>& addrs);

  // IPv6 frontends of the apply() running now, written in one batch.
  std::vector<std::pair<pw_frontend6_key, pw_frontend>> entries6_;
  std::set<net::Ipv6> touched_addrs6_;

  loader::LbMaps& maps_;
  MetaMaps& meta_;
  InstalledView& view_;
  std::uint32_t smallest_table_;
};

}  // namespace portway::dataplane::xdp
