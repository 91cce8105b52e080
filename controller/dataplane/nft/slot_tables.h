// Consistent backend choice for nftables (docs/nftables.md "Backend choice"): a new flow's
// backend is slot `jhash(5-tuple) mod M` of its frontend's slot table, M elements of
// svc_slots / np_slots. The tables are not a function of the backend set alone (Maglev
// needs M >> N^2 slots per set for its disruption bound, unaffordable as nft elements);
// each one is derived from the table installed before it with the least change:
//
// - a new table has one slot per running backend (M = N: exact balance, as many elements as
//   a random choice needs);
// - a change keeps every slot whose backend still runs, doubles M when needed (slot i of the
//   doubled table covers half of old slot i/2's hash range: nothing moves), and re-deals only
//   the slots of removed backends and the slots a new backend needs, so one backend added or
//   removed moves at most ceil(M/N)/M of the new-flow assignments;
// - M grows until it is a multiple of N (exact balance) or at least 4N (shares within
//   -20%/+25% of 1/N), which also keeps ceil(M/N)/M <= 1.25/N, inside the 1.5/N target.
//
// The installed tables are read back from the kernel by every process's first apply, so the
// choice survives restarts.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/nft/readback.h"
#include "net/ip_prefix.h"
#include "state/dataplane_state.h"

namespace portway::dataplane::nft {

using SlotTable = std::vector<state::IpAddress>;  // slot i -> backend address; size() is M
// Slot tables by the key their elements start with: "198.19.0.7", "2001:2:1::7" (a service
// address) or "tcp . 30080" (a node port); a node port's IPv6 table is "ip6 . tcp . 30080"
// (np_slots6's elements start with the node port key like np_slots', so the book tells them
// apart by this prefix). A table holds the addresses of its family: IPv4 tables the
// members' IPv4 addresses, IPv6 tables their IPv6 addresses.
using SlotBook = std::map<std::string, SlotTable>;
inline constexpr std::string_view kNodePort6Book = "ip6 . ";

// The table for `running` (sorted by address, as running_members() gives them) that follows
// `current` (empty: none installed). Empty when nothing runs.
SlotTable next_slot_table(const SlotTable& current, std::span<const state::IpAddress> running);

// The complete tables held by svc_slots and np_slots (slots 0..M-1 all present); anything
// else is left out and gets a new table.
SlotBook read_slot_book(const ReadBack& rb);

// Hands the element writer the table of each service address and node port.
class SlotTables {
 public:
  // advance = false: the installed tables as they are (what the table holds now);
  // advance = true: each one moved on to the running members with next_slot_table().
  SlotTables(const SlotBook& installed, bool advance) : installed_(installed), advance_(advance) {}

  const SlotTable& table(const std::string& key, std::span<const state::IpAddress> running);
  // Every table handed out, by key (the empty ones too).
  const SlotBook& handed_out() const { return handed_out_; }

 private:
  const SlotBook& installed_;
  bool advance_;
  SlotBook handed_out_;
};

}  // namespace portway::dataplane::nft
