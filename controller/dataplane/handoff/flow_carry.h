// Carrying established flows across a dataplane switch (docs/operations.md "Switching the
// dataplane"), IPv4 and IPv6 alike, one pass at a time: a switch runs a pass before the old dataplane lets go of
// anything and again after each step that moves traffic, so flows the old dataplane created
// meanwhile are carried too. Each pass writes only what earlier passes have not written.
// Both work on the calling thread's network namespace.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "dataplane/conntrack/conntrack_table.h"
#include "dataplane/handoff/flow_translation.h"
#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/pin_layout.h"

namespace portway::dataplane::handoff {

// One family's part of a carry (flow_carry.cc): its tables and what earlier passes wrote.
template <typename Addr>
class ToConntrackFamily;
template <typename Addr>
class ToFastPathFamily;

struct CarryCounts {
  std::size_t passes = 0;
  std::size_t carried = 0;  // entries written (created, refreshed or replaced)
  std::size_t dropped = 0;  // not carried: the receiving dataplane would not have kept them
  std::size_t failed = 0;   // the kernel refused them
  std::string summary(const char* what) const;
};

// The fast path's flow table -> kernel conntrack. Holds the pinned maps open, so passes keep
// working after the pins are removed.
class FlowsToConntrack {
 public:
  // Inactive (every pass does nothing) when the fast path's maps are not all pinned.
  explicit FlowsToConntrack(const xdp::PinLayout& pins);
  ~FlowsToConntrack();
  bool active() const { return maps_.has_value(); }
  // Carries what is new since the last pass. `all`: every flow again, so that an entry
  // conntrack made meanwhile for a translated packet the fast path passed to the stack (no
  // NAT, the carried flow's reply tuple: it shadows or blocks the carried entry) gives way,
  // and a carried entry still there is refreshed.
  void pass(bool all = false);
  const CarryCounts& counts() const { return counts_; }

 private:
  std::optional<xdp::PinnedLbMaps> pinned_;
  std::optional<loader::LbMaps> maps_;
  std::unique_ptr<conntrack::ConntrackTable> conntrack_;
  conntrack::SeedTimeouts timeouts_;
  std::unique_ptr<ToConntrackFamily<net::Ipv4>> v4_;
  std::unique_ptr<ToConntrackFamily<net::Ipv6>> v6_;  // null without the IPv6 maps
  CarryCounts counts_;
};

// Kernel conntrack (nftables' translations) -> the fast path's flow and reverse tables. The
// fast path must be prepared (maps pinned and programmed) first.
class FlowsToFastPath {
 public:
  explicit FlowsToFastPath(const xdp::PinLayout& pins);
  ~FlowsToFastPath();
  void pass();
  const CarryCounts& counts() const { return counts_; }

 private:
  std::optional<xdp::PinnedLbMaps> pinned_;
  std::optional<loader::LbMaps> maps_;
  std::unique_ptr<conntrack::ConntrackTable> conntrack_;
  std::unique_ptr<ToFastPathFamily<net::Ipv4>> v4_;
  std::unique_ptr<ToFastPathFamily<net::Ipv6>> v6_;  // null without the IPv6 maps
  CarryCounts counts_;
};

}  // namespace portway::dataplane::handoff
