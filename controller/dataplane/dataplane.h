// The one interface both dataplanes implement (dataplane.md): the XDP/tc fast path and the
// nftables fallback. The controller compiles the store into a DataplaneState and hands the
// dataplane the new state; the dataplane works out the difference from what it has installed
// (installed(), read back from the kernel, so drift and restarts are handled the same way)
// and changes only that.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_settings.h"
#include "state/dataplane_state.h"
#include "state/diff.h"

namespace portway::dataplane {

enum class Kind : std::uint8_t { xdp, nft };
std::string_view to_string(Kind k);

// Packets/bytes/new flows/rejects as both dataplanes can count them.
struct TrafficCounters {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t new_flows = 0;
  std::uint64_t rejected = 0;
  bool operator==(const TrafficCounters&) const = default;
};

// Whose counters a frontend's are: the Service id, the Service port's name, "tcp"|"udp".
struct FrontendOwner {
  std::string service;
  std::string port;
  std::string protocol;
  bool operator==(const FrontendOwner&) const = default;
};

// Whose a backend's are: the Service id and the member's address.
struct BackendOwner {
  std::string service;
  std::string address;
  bool operator==(const BackendOwner&) const = default;
};

struct Stats {
  std::map<std::string, TrafficCounters> frontends;  // key: "addr:port/proto" or "node:port/proto"
  std::map<std::string, TrafficCounters> backends;   // key: "service-id addr" (see attribute())
  std::map<std::string, std::uint64_t> drops;        // reason -> packets
  // Fast path only (docs/xdp-dataplane.md, "Delivery"): how translated frames left the XDP
  // program, frames passed for L2 reasons, flow-table inserts/deletes. Event -> count.
  std::map<std::string, std::uint64_t> events;
  // Filled by attribute(): the owner of each frontends/backends key it could place. Metrics
  // label series with them, identically on both dataplanes (docs/operations.md "Metrics").
  std::map<std::string, FrontendOwner> frontend_owners;
  std::map<std::string, BackendOwner> backend_owners;
};

// Places each counter of `stats` in `programmed` (the state the dataplane was given): fills
// the owners, and renames backend keys whose set id is not a Service id. The nft table keeps
// no Service ids, so its read-back names sets "nft-set-HEX"; a member address belongs to one
// Service's set only (sandbox addresses are unique and a sandbox backs one Service), which
// makes the address enough to find the Service. Keys `programmed` does not hold keep no owner.
void attribute(Stats& stats, const state::DataplaneState& programmed);

struct ApplyReport {
  state::StateDiff applied;          // what changed in the kernel
  std::vector<std::string> notes;    // e.g. "repaired drift: table was missing"
};

class Dataplane {
 public:
  virtual ~Dataplane() = default;
  virtual Kind kind() const = 0;

  // What is installed now, read back from the kernel (maps or ruleset). The empty state
  // when nothing of this dataplane is installed.
  virtual state::DataplaneState installed() = 0;

  // Makes the kernel hold `desired`, changing only the difference from installed(). Atomic
  // per dataplane step (one nft transaction; one map swap per backend set). Throws on
  // failure, leaving the previous state working.
  virtual ApplyReport apply(const state::DataplaneState& desired) = 0;

  // Removes everything this dataplane installed on this node (maps, links, table).
  virtual void remove_all() = 0;

  virtual Stats stats() = 0;
};

}  // namespace portway::dataplane
