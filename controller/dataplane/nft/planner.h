// Turning states into transactions.
//
// plan_full: the whole desired table against what the kernel holds (empty or not): missing
// or re-typed sets re-created, elements added/removed to match exactly, the skeleton chains
// rewritten (a few dozen rules), orphan chains, sets and counters deleted. Used for the first
// apply of a process, after drift (someone else committed a ruleset change), and by repair().
//
// plan_incremental: only the entities a StateDiff touches, each rendered before and after by
// the same ElementWriter, and only the elements that differ written. A one-endpoint change
// is a few dozen element operations whatever the table's size.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/nft/layout.h"
#include "dataplane/nft/readback.h"
#include "dataplane/nft/set_numbers.h"
#include "dataplane/nft/slot_tables.h"
#include "dataplane/nft/transaction.h"
#include "state/diff.h"

namespace portway::dataplane::nft {

// How many frontends/node ports jump to each pick chain (kind -> M -> uses): a pick chain
// beyond the standing ones exists exactly while it has users.
using PickUses = std::array<std::map<std::uint32_t, std::size_t>, kPickKinds>;

struct FullPlan {
  Transaction tx;
  PickUses uses;
  std::vector<std::string> structure;  // sets, chains, counters missing, re-typed or orphaned
  // Element differences outside node_addrs (those are the settings' business, not drift).
  std::size_t elements_missing = 0, elements_changed = 0, elements_extra = 0;
  std::size_t element_differences() const { return elements_missing + elements_changed + elements_extra; }
  bool node_addresses_changed = false;
  SlotBook slots;  // the slot tables the table holds after this transaction
};

// The node addresses node ports answer on, per family, sorted, without duplicates.
struct NodeAddresses {
  std::vector<net::Ipv4> v4;
  std::vector<net::Ipv6> v6;
  bool operator==(const NodeAddresses&) const = default;
};

// `rb` is consumed (its element maps are used as scratch). `desired` must be representable
// and `numbers` must hold every set of it. The slot tables `rb` holds are carried on
// (slot_tables.h).
FullPlan plan_full(ReadBack rb, const state::DataplaneState& desired, const NodeAddresses& node_addresses,
                   const SetNumbers& numbers);

// What is wrong with the table's structure (sets missing or re-typed, skeleton or pick chains
// missing, re-hooked or with other rules, counters missing); elements are not looked at.
// Empty: an incremental change can be trusted to land on what portway built.
std::vector<std::string> structure_problems(const ReadBack& rb, const PickUses& uses);

// What the incremental planner needs to know about what is installed, beyond the state.
struct InstalledIndex {
  std::unordered_map<std::string, std::vector<state::FrontendKey>> frontends_of;  // set id ->
  std::unordered_map<std::string, std::vector<state::NodePortKey>> node_ports_of;
  std::map<state::MemberKey, std::uint32_t> member_refs;  // member -> sets listing it
  PickUses uses;

  static InstalledIndex build(const state::DataplaneState& s, const PickUses& uses);
  // Moves the index from the diff's "from" state to its "to" state.
  void apply(const state::StateDiff& d);
};

struct IncrementalPlan {
  Transaction tx;
  PickUses uses;  // the index's uses after this transaction
  // What this transaction does to the installed slot tables: tables gone, tables (re)written.
  std::vector<std::string> slots_removed;
  SlotBook slots_written;
  void update(SlotBook& installed) const;
};

// `installed` is the state `index` describes and `slots` its slot tables; d = diff(installed,
// desired). `numbers` must hold every set of both states.
IncrementalPlan plan_incremental(const state::DataplaneState& installed, const InstalledIndex& index,
                                 const SlotBook& slots, const state::DataplaneState& desired,
                                 const state::StateDiff& d, const SetNumbers& numbers);

// The node_addrs elements that turn `installed` into `desired`, added to `tx`.
void plan_node_addresses(const NodeAddresses& installed, const NodeAddresses& desired, Transaction& tx);

}  // namespace portway::dataplane::nft
