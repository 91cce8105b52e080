// Typed access to the load balancer's maps (include/portway/lb_abi.h) for the controller's
// dataplane glue and the tests. Every map's type, key size and value size are checked against
// the kernel's view once, at construction, so a C header that disagrees with the loaded
// object fails loudly instead of writing garbage. Ids and set ids are range-checked against
// the maps' real sizes. All failures throw loader::Error.
//
// Addresses and ports are in network byte order, as in the C structs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "loader/lb_capacities.h"
#include "loader/mapped_array.h"
#include "loader/percpu_map.h"
#include "loader/slot_allocator.h"
#include "loader/unique_fd.h"
#include "portway/lb_abi.h"

namespace portway::loader {

// Which descriptor array a Maglev table is installed through: pw_set_descs (IPv4 members)
// or pw_set_descs6 (IPv6 members). Both name regions of the one pw_maglev_slots array.
enum class SetFamily : std::uint8_t { ipv4, ipv6 };

// One backend set's new Maglev table (backend ids, one per slot), for install_backend_sets.
struct BackendSetTable {
  std::uint32_t set_id = 0;
  std::span<const std::uint32_t> table;
  SetFamily family = SetFamily::ipv4;
};

// Map fds, borrowed: the skeleton (or the pinned maps' owner) must outlive the LbMaps.
struct LbMapFds {
  int frontends = -1;
  int service_addrs = -1;
  int node_addrs = -1;
  int backends = -1;
  int set_descs = -1;     // pw_set_descs
  int maglev_slots = -1;  // pw_maglev_slots
  int nexthops = -1;
  int flows = -1;
  int reverse = -1;
  int fragments = -1;
  int frontend_stats = -1;
  int backend_stats = -1;
  int drops = -1;
  // Maps an older version did not pin: -1 until a load creates them (an upgrade). Without
  // them nothing is written and every event reads 0.
  int interfaces = -1;  // pw_interfaces
  int events = -1;      // pw_events
  // Layout 2 (lb_abi.h): -1 until a load creates them (an upgrade from layout 1 pins).
  int frontend_gens = -1;   // pw_frontend_gens
  int prefilter = -1;       // pw_prefilter
  int frontends6 = -1;      // pw_frontends6
  int service_addrs6 = -1;  // pw_service_addrs6
  int node_addrs6 = -1;     // pw_node_addrs6
  int backend_addrs6 = -1;  // pw_backend_addrs6
  int set_descs6 = -1;      // pw_set_descs6
  int nexthops6 = -1;       // pw_nexthops6
  int flows6 = -1;          // pw_flows6
  int reverse6 = -1;        // pw_reverse6
  int fragments6 = -1;      // pw_fragments6
  // Layout 3: -1 until a load creates it (an upgrade from layout 1 or 2 pins).
  int uplinks = -1;  // pw_uplinks
  // Layout 5: the connection tables and the programs that write them for the controller
  // (lb_abi.h, pw_conn_sets). -1 until a load creates them (an upgrade from older pins);
  // without them every flow is in pw_flows/pw_flows6.
  int conn_sets = -1;   // pw_conn_sets
  int conn_sets6 = -1;  // pw_conn_sets6
  int conn_ctl4 = -1;   // program pw_conn_ctl4
  int conn_ctl6 = -1;   // program pw_conn_ctl6
};

// pw_flows' fill and what left it (lb_abi.h, pw_events). `evicted` is what left without
// being deleted: inserts into the full LRU pushed it out.
struct FlowTableFill {
  std::uint32_t capacity = 0;  // the connection table's ways (pw_flows' size without one)
  std::uint64_t entries = 0;
  std::uint64_t inserted = 0;  // since counting began (baseline included)
  std::uint64_t deleted = 0;   // by the programs and by the controller
  std::uint64_t evicted = 0;
  bool counted = false;        // false: pw_events is missing (pins of an older version)
};

class LbMaps {
 public:
  explicit LbMaps(const LbMapFds& fds);

  // The sizes the maps really have (max_entries as the kernel reports them).
  [[nodiscard]] const LbCapacities& capacities() const noexcept { return caps_; }
  // True when every IPv6 map (pw_frontends6 ... pw_fragments6) is there. Without them (pins of
  // layout 1 before the next load) every IPv6 write throws ENOENT and every IPv6 read is empty.
  [[nodiscard]] bool has_ipv6() const noexcept { return ipv6_; }

  // ---- frontends and addresses --------------------------------------------------------
  // value.id < capacities().frontends and value.set_id < capacities().backend_sets.
  void upsert_frontend(const pw_frontend_key& key, const pw_frontend& value);
  bool erase_frontend(const pw_frontend_key& key);  // false if it was not there
  [[nodiscard]] std::optional<pw_frontend> frontend(const pw_frontend_key& key) const;
  [[nodiscard]] std::vector<std::pair<pw_frontend_key, pw_frontend>> frontends() const;

  // Many at once, one BPF_MAP_UPDATE_BATCH syscall (all validated first).
  void upsert_frontends(std::span<const std::pair<pw_frontend_key, pw_frontend>> entries);

  void upsert_service_addr(std::uint32_t addr, const pw_service_addr& value = {});
  void upsert_service_addrs(std::span<const std::uint32_t> addrs);  // batched, value {}
  bool erase_service_addr(std::uint32_t addr);
  [[nodiscard]] std::vector<std::uint32_t> service_addrs() const;

  void upsert_node_addr(std::uint32_t addr, const pw_node_addr& value = {});
  bool erase_node_addr(std::uint32_t addr);
  [[nodiscard]] std::vector<std::pair<std::uint32_t, pw_node_addr>> node_addrs() const;

  // ---- backends -------------------------------------------------------------------------
  // id < capacities().backends. clear_backend writes an all-zero entry (PW_BACKEND_UNUSED).
  // Both also drop the backend's cached next hop (pw_nexthops), so a sandbox re-created at the
  // same address is resolved afresh on its first packet.
  void set_backend(std::uint32_t id, const pw_backend& value);
  void clear_backend(std::uint32_t id);
  [[nodiscard]] pw_backend backend(std::uint32_t id) const;
  // Many at once: one batched update of pw_backends and one of pw_nexthops (all validated
  // first). clear_backends writes all-zero entries.
  void set_backends(std::span<const std::pair<std::uint32_t, pw_backend>> entries);
  void clear_backends(std::span<const std::uint32_t> ids);
  // Every backend entry, read with batched lookups (index = backend id).
  [[nodiscard]] std::vector<pw_backend> all_backends() const;

  // ---- backend sets (Maglev tables) -----------------------------------------------------
  // A table is written into free slots of pw_maglev_slots (through the mmap, no syscall),
  // then the set's descriptor is switched with one aligned 8-byte store: a packet sees the old
  // table or the new one, never a mix. The old table's slots are retired, and only reused
  // after an RCU grace period (wait_for_programs). That wait is paid only when the free slots
  // run out (or once after the maps were opened, for regions a previous process retired), not
  // per switch. An empty table installs M = 0: the set has no running backend (rejects). A
  // table equal to the installed one is left as it is. Every id in the table must be
  // < capacities().backends, and its size < 2^31. The IPv4 and IPv6 tables of a set (family)
  // are independent descriptors sharing the slot array, its allocator and its grace periods.
  void install_backend_set(std::uint32_t set_id, std::span<const std::uint32_t> table,
                           SetFamily family = SetFamily::ipv4);
  // Several sets, of either family. Every table is validated and given its slots before
  // anything is switched; a failure (bad table, ENOSPC: raise the maglev_slots node setting,
  // an IPv6 table without the IPv6 maps) leaves every set as it was. Each set switches
  // atomically; the sets of one call switch one after the other.
  void install_backend_sets(std::span<const BackendSetTable> sets);
  // Removes the set's table (M = 0). False if it had none.
  bool clear_backend_set(std::uint32_t set_id, SetFamily family = SetFamily::ipv4);
  // The installed table, empty when the set has none.
  [[nodiscard]] std::vector<std::uint32_t> backend_set(std::uint32_t set_id,
                                                       SetFamily family = SetFamily::ipv4) const;
  // The raw descriptor of a set (pw_set_desc_offset / pw_set_desc_m).
  [[nodiscard]] std::uint64_t backend_set_descriptor(std::uint32_t set_id,
                                                     SetFamily family = SetFamily::ipv4) const;
  // Returns once no program run that started before the call is still running (an RCU grace
  // period, ~5-13 ms here), and frees every retired slot region.
  void wait_for_programs();
  [[nodiscard]] const SlotAllocator& slot_allocator() const noexcept { return slots_alloc_; }
  [[nodiscard]] std::uint64_t grace_period_waits() const noexcept { return grace_waits_; }

  // ---- connection tracking --------------------------------------------------------------
  // A flow lives in the connection table (pw_conn_sets) or, when that cannot hold it, in
  // pw_flows with its reverse entry (lb_abi.h, pw_conns). flow(), flows(), the backend walks,
  // upsert_flows and clear_conntrack see both, as the programs do; reverse() and conns() read
  // one table each.
  [[nodiscard]] std::optional<pw_flow> flow(const pw_flow_key& key) const;
  // The translation the programs give a reply with this tuple (backend -> client as it leaves
  // the backend: reverse_key_of), from pw_conns or pw_reverse.
  [[nodiscard]] std::optional<pw_reverse> reply_translation(const pw_flow_key& reply_key) const;
  [[nodiscard]] std::optional<pw_reverse> reverse(const pw_flow_key& key) const;
  [[nodiscard]] std::vector<std::pair<pw_conn_key, pw_conn>> conns() const;
  [[nodiscard]] std::vector<std::pair<pw_flow_key, pw_flow>> flows() const;
  // Both families (pw_flows and pw_flows6).
  [[nodiscard]] std::size_t count_flows_for_backend(std::uint32_t backend_id) const;
  // Deletes the backend's flows of both families and their reverse entries; returns how many
  // flows.
  std::size_t erase_flows_for_backend(std::uint32_t backend_id);
  [[nodiscard]] std::size_t reverse_count() const;
  [[nodiscard]] std::size_t fragment_count() const;
  // Writes each flow where the program would record it (pw_conns, or pw_flows and its reverse
  // entry: reverse_key_of), replacing entries with the same tuples; batched updates. Validates
  // first: a flow naming a backend id beyond the map writes nothing.
  void upsert_flows(std::span<const std::pair<pw_flow_key, pw_flow>> flows);
  // Moves what pw_flows/pw_flows6 hold and the connection tables can hold into them (both
  // families; an upgrade from layout 3, once every program reads the connection maps).
  // Returns how many flows moved.
  std::size_t move_flows_into_conns();
  // Empties pw_conns, pw_flows, pw_reverse and pw_fragments, and their IPv6 counterparts.
  void clear_conntrack();

  // ---- IPv6 (lb_maps6.cc; layout 2) -----------------------------------------------------
  // The same rules as their IPv4 counterparts; pw_frontend.set_id names the set's IPv6 table
  // (install_backend_set(..., SetFamily::ipv6)). Writes throw ENOENT without has_ipv6().
  void upsert_frontend6(const pw_frontend6_key& key, const pw_frontend& value);
  void upsert_frontends6(std::span<const std::pair<pw_frontend6_key, pw_frontend>> entries);
  bool erase_frontend6(const pw_frontend6_key& key);  // false if it was not there
  [[nodiscard]] std::optional<pw_frontend> frontend6(const pw_frontend6_key& key) const;
  [[nodiscard]] std::vector<std::pair<pw_frontend6_key, pw_frontend>> frontends6() const;

  void upsert_service_addr6(const pw_in6& addr, const pw_service_addr& value = {});
  void upsert_service_addrs6(std::span<const pw_in6> addrs);  // batched, value {}
  bool erase_service_addr6(const pw_in6& addr);
  [[nodiscard]] std::vector<pw_in6> service_addrs6() const;

  void upsert_node_addr6(const pw_in6& addr, const pw_node_addr& value = {});
  bool erase_node_addr6(const pw_in6& addr);
  [[nodiscard]] std::vector<std::pair<pw_in6, pw_node_addr>> node_addrs6() const;

  // A backend's IPv6 address (pw_backend_addrs6); its state, ifindex and set stay in
  // pw_backends (set_backend). Both writes also drop the cached IPv6 next hop (pw_nexthops6).
  // clear writes all zero: the backend has no IPv6 address.
  void set_backend_addrs6(std::span<const std::pair<std::uint32_t, pw_in6>> entries);
  void clear_backend_addrs6(std::span<const std::uint32_t> ids);
  [[nodiscard]] pw_in6 backend_addr6(std::uint32_t id) const;
  // Every backend's IPv6 address (index = backend id); empty without has_ipv6().
  [[nodiscard]] std::vector<pw_in6> all_backend_addrs6() const;

  [[nodiscard]] std::optional<pw_flow6> flow6(const pw_flow6_key& key) const;
  [[nodiscard]] std::optional<pw_reverse6> reply_translation6(const pw_flow6_key& reply_key) const;
  [[nodiscard]] std::optional<pw_reverse6> reverse6(const pw_flow6_key& key) const;
  [[nodiscard]] std::vector<std::pair<pw_conn6_key, pw_conn6>> conns6() const;
  [[nodiscard]] std::vector<std::pair<pw_flow6_key, pw_flow6>> flows6() const;
  [[nodiscard]] std::size_t reverse6_count() const;
  // upsert_flows for pw_flows6/pw_reverse6 (throws ENOENT without has_ipv6()).
  void upsert_flows6(std::span<const std::pair<pw_flow6_key, pw_flow6>> flows);
  [[nodiscard]] std::size_t fragment6_count() const;
  // pw_flows6's fill, as flow_fill() for pw_flows (the PW_EV_FLOW6_* events).
  [[nodiscard]] FlowTableFill flow6_fill() const;

  // ---- interfaces (pw_interfaces) -------------------------------------------------------
  // An interface that loses PW_IF_XDP_READY (changed or erased) also loses the next hops the
  // program cached through it (PW_NEXTHOP_XDP_READY, lb_abi.h): they are cleared after the
  // write, so no frame is XDP-redirected into it on a stale answer.
  // pw_uplinks follows (when loaded): an uplink entry whose ifindex fits is copied there after
  // the pw_interfaces write, any other value clears the slot; an erase clears the slot first.
  // Either order leaves the program's L2 check on an entry the controller wrote.
  [[nodiscard]] bool has_interfaces() const noexcept { return fds_.interfaces >= 0; }
  [[nodiscard]] bool has_uplinks() const noexcept { return fds_.uplinks >= 0; }
  void set_interface(std::uint32_t ifindex, const pw_interface& value);
  bool erase_interface(std::uint32_t ifindex);  // false if it was not there
  // The cached next hops (index = backend id), batched read; the IPv6 ones empty without
  // pw_nexthops6.
  [[nodiscard]] std::vector<pw_nexthop> all_nexthops() const;
  [[nodiscard]] std::vector<pw_nexthop6> all_nexthops6() const;

  // ---- frontend generations and the prefix filter (layout 2, lb_abi.h) ------------------
  // Both maps are absent (fd -1) on pins no load has upgraded yet: gens then read as 0 and
  // writes are skipped, the prefilter reads as "off".
  [[nodiscard]] bool has_frontend_gens() const noexcept { return fds_.frontend_gens >= 0; }
  // Every gen, index = frontend id (batched read), or one (a lookup; 0 without the map).
  [[nodiscard]] std::vector<std::uint32_t> frontend_gens() const;
  [[nodiscard]] std::uint32_t frontend_gen(std::uint32_t id) const;
  // (id, gen) pairs, one batched update; ids < capacities().frontends (validated first).
  void set_frontend_gens(std::span<const std::pair<std::uint32_t, std::uint32_t>> gens);
  [[nodiscard]] bool has_prefilter() const noexcept { return fds_.prefilter >= 0; }
  [[nodiscard]] pw_prefilter prefilter() const;
  // Rejects (EINVAL, nothing written) counts beyond the arrays and prefixes with host bits
  // set (addr & mask != addr) or a non-contiguous mask.
  void set_prefilter(const pw_prefilter& value);
  [[nodiscard]] std::vector<std::pair<std::uint32_t, pw_interface>> interfaces() const;
  // pw_uplinks' entry for ifindex (zero when never written, out of range or without the map).
  [[nodiscard]] pw_interface uplink_slot(std::uint32_t ifindex) const;

  // ---- counters (summed over CPUs) ------------------------------------------------------
  [[nodiscard]] pw_traffic frontend_traffic(std::uint32_t id) const;
  [[nodiscard]] pw_traffic backend_traffic(std::uint32_t id) const;
  [[nodiscard]] std::uint64_t drops(std::uint32_t reason) const;
  [[nodiscard]] std::array<std::uint64_t, PW_DROP_REASONS> all_drops() const;
  // Zeros when pw_events is missing.
  [[nodiscard]] std::array<std::uint64_t, PW_EVENTS> all_events() const;
  // Adds to an event only user space writes (PW_EV_FLOW_CONTROLLER_DELETES,
  // PW_EV_FLOW_BASELINE and their FLOW6 counterparts); any other event throws EINVAL. No-op when pw_events is missing.
  void add_controller_event(std::uint32_t event, std::uint64_t n);
  // Walks pw_flows (one syscall per entry: for status, not for hot paths).
  [[nodiscard]] FlowTableFill flow_fill() const;

 private:
  void forget_nexthops_via(std::uint32_t ifindex);
  void validate_table(std::uint32_t set_id, std::span<const std::uint32_t> table,
                      const char* step) const;
  // The descriptor array of a family (throws ENOENT for IPv6 without the IPv6 maps).
  [[nodiscard]] std::span<std::uint64_t> descs_of(SetFamily family, const char* step) const;
  // Marks the regions a descriptor array names in use (at construction).
  void claim_installed_tables(std::span<std::uint64_t> descs, const char* name);
  void open_ipv6_maps(const LbMapFds& fds);
  void require_ipv6(const char* step) const;
  void clear_conntrack6();
  // A flow table's fill from its entry count and its four events (lb_abi.h, pw_events).
  [[nodiscard]] FlowTableFill fill_of(std::uint64_t entries, std::uint32_t inserts,
                                      std::uint32_t deletes, std::uint32_t controller_deletes,
                                      std::uint32_t baseline) const;

  LbMapFds fds_;
  LbCapacities caps_;
  MappedArray descs_map_;
  MappedArray slots_map_;
  std::span<std::uint64_t> descs_;  // pw_set_descs through the mmap
  bool ipv6_ = false;
  std::uint32_t conn_sets_ = 0;  // sets of pw_conn_sets and pw_conn_sets6 (0: no tables)
  MappedArray descs6_map_;
  std::span<std::uint64_t> descs6_;  // pw_set_descs6 through the mmap; empty without IPv6
  std::span<std::uint32_t> slots_;  // pw_maglev_slots through the mmap, as a flat array
  SlotAllocator slots_alloc_;
  UniqueFd fence_outer_;  // a private ARRAY_OF_MAPS whose updates wait for a grace period
  UniqueFd fence_inner_;
  std::uint64_t grace_waits_ = 0;
  PerCpuArray<pw_traffic> frontend_stats_;
  PerCpuArray<pw_traffic> backend_stats_;
  PerCpuArray<std::uint64_t> drops_;
  std::optional<PerCpuArray<std::uint64_t>> events_;
};

// The reverse-map key of a flow, as the BPF program derives it (bpf/lib/conntrack.h).
[[nodiscard]] pw_flow_key reverse_key_of(const pw_flow_key& key, const pw_flow& flow);
[[nodiscard]] pw_flow6_key reverse_key_of(const pw_flow6_key& key, const pw_flow6& flow);

}  // namespace portway::loader
