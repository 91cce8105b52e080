// What the fast path has installed, read back from its maps: the DataplaneState it implements
// plus the id bookkeeping needed to change it (which set id, backend id and frontend id each
// thing has). Built from the kernel once, then kept up to date by the programmer.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/xdp/meta_maps.h"
#include "loader/lb_maps.h"
#include "state/dataplane_state.h"

namespace portway::dataplane::xdp {

// Lowest-free allocation in [0, capacity): deterministic, and dense so counters arrays stay
// compact. A bitmap, so that finding the lowest free id costs a scan of 64-bit words (2,048
// for 131,072 backends) whatever the order of releases and allocations: an ordered set walked
// from the lowest free id cost a step per used id above a released one (milliseconds per
// member change at 100,000 backends).
class IdPool {
 public:
  explicit IdPool(std::uint32_t capacity = 0) : capacity_(capacity) {}
  void mark_used(std::uint32_t id);  // ids read back from the kernel, capacity or not
  std::uint32_t allocate(const char* what);  // throws loader::Error(ENOSPC) when full
  void release(std::uint32_t id);
  bool in_use(std::uint32_t id) const {
    return id / 64 < words_.size() && (words_[id / 64] >> (id % 64) & 1) != 0;
  }
  std::size_t used() const { return used_; }
  std::uint32_t capacity() const { return capacity_; }

 private:
  std::uint32_t capacity_;
  std::vector<std::uint64_t> words_;  // bit id % 64 of word id / 64: id in use
  std::size_t used_ = 0;
  // Every id below it is used: the scan for the lowest free id starts at its word.
  std::uint32_t lowest_maybe_free_ = 0;
};

struct InstalledView {
  state::DataplaneState state;
  std::map<std::string, std::uint32_t> set_ids;                      // Service id -> set id
  std::map<std::pair<std::uint32_t, state::MemberKey>, std::uint32_t> backend_ids;  // (set, member)
  std::map<state::FrontendKey, std::uint32_t> frontend_ids;
  std::map<state::NodePortKey, std::uint32_t> node_port_ids;
  IdPool set_pool, backend_pool, frontend_pool;
  // Sets whose installed Maglev table does not match their members (names a backend that is
  // not a running member, misses one, has the wrong size, or is absent: e.g. maps pinned by
  // an older version, or a crash between writing backends and switching the table). The
  // programmer reinstalls them on the next apply even if the diff does not touch them.
  std::set<std::uint32_t> stale_tables;
  // Node ports whose IPv6 entry (pw_frontends6, addr all zero) is missing or disagrees with
  // the IPv4 one: rewritten in both maps on the next apply. IPv6 entries nothing in the
  // state accounts for (a node port without its IPv4 entry, an incomplete frontend): erased
  // on the next apply.
  std::set<state::NodePortKey> stale_node_ports;
  std::vector<pw_frontend6_key> orphan_frontends6;
  std::vector<std::string> inconsistencies;  // what could not be read back cleanly
};

// Reads every map once (batch reads where the map allows). `smallest_maglev_table` is the
// node setting the tables were built with (their expected size, for the staleness check).
InstalledView read_installed(const loader::LbMaps& maps, const MetaMaps& meta,
                             std::uint32_t smallest_maglev_table);

// Byte-order conversions between the C ABI and the state's host-order values.
pw_frontend_key frontend_key_of(const state::FrontendKey& key);   // IPv4 keys only
pw_frontend_key node_port_key_of(const state::NodePortKey& key);
pw_frontend6_key frontend6_key_of(const state::FrontendKey& key);  // IPv6 keys only
pw_frontend6_key node_port6_key_of(const state::NodePortKey& key);
pw_in6 in6_of(const net::Ipv6& a);
net::Ipv6 ipv6_of(const pw_in6& a);
bool is_unset(const pw_in6& a);  // all zero: no address

}  // namespace portway::dataplane::xdp
