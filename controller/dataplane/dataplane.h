// The one interface both dataplanes implement (docs/dataplane.md): the XDP/tc fast path and the
// nftables fallback. The controller compiles the store into a DataplaneState and hands the
// dataplane the new state; the dataplane works out the difference from what it has installed
// (installed(), read back from the kernel, so drift and restarts are handled the same way)
// and changes only that.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
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

// Drift repaired by a check, counted by kind. The kinds are stable names (docs/operations.md
// "Drift repair" lists them); a repair's note says what was found, in words.
struct Repairs {
  std::map<std::string, std::uint64_t> counts;
  std::vector<std::string> notes;
  void add(const std::string& kind, std::string note, std::uint64_t n = 1) {
    counts[kind] += n;
    notes.push_back(std::move(note));
  }
};

// What a check's read phase found in the kernel. Opaque to the owner: only the dataplane that
// made the reader interprets it.
class KernelReading {
 public:
  virtual ~KernelReading() = default;
};

// The read phase of a check (docs/operations.md "Drift repair"): made on the owner's thread,
// it holds kernel handles of its own (bound to the network namespace current when it was
// made), so read() may run on any thread while the owner keeps applying changes.
class KernelReader {
 public:
  virtual ~KernelReader() = default;
  virtual std::unique_ptr<KernelReading> read() = 0;
};

class Dataplane {
 public:
  virtual ~Dataplane() = default;
  virtual Kind kind() const = 0;

  // Anything of this dataplane is installed on this node (possibly incomplete).
  virtual bool is_installed() = 0;
  // Installed and forwarding new flows.
  virtual bool is_running() { return is_installed(); }

  // What is installed now, read back from the kernel (maps or ruleset). The empty state
  // when nothing of this dataplane is installed.
  virtual state::DataplaneState installed() = 0;

  // Makes the kernel hold `desired`, changing only the difference from installed(). Atomic
  // per dataplane step (one nft transaction; one map swap per backend set). Throws on
  // failure, leaving the previous state working.
  virtual ApplyReport apply(const state::DataplaneState& desired) = 0;

  // Programs `d` on top of what the last apply()/apply_changes() programmed, at a cost
  // proportional to `d`. `d` is a diff of desired states as the compiler makes them (it may
  // hold what this dataplane does not implement, e.g. IPv6); `desired` is the whole desired
  // state after `d`, for look-ups only. Throws std::invalid_argument, nothing written, when
  // `d` does not fit; any other throw leaves the previous programming working, and the next
  // apply() repairs.
  virtual ApplyReport apply_changes(const state::StateDiff& d, const state::DataplaneState& desired) = 0;

  // The steps of a switch (docs/operations.md "Switching the dataplane"). take_over() brings
  // this dataplane up complete with `desired` while the other one (installed when
  // `other_installed`) still forwards, carrying its established flows over; hand_over() removes
  // this dataplane after the other one took over, carrying flows the other way. The defaults
  // carry nothing.
  virtual ApplyReport take_over(const state::DataplaneState& desired, bool other_installed) {
    (void)other_installed;
    return apply(desired);
  }
  virtual void hand_over(std::vector<std::string>& notes) {
    (void)notes;
    remove_all();
  }

  // Waits for work the last change queued behind its commit (nftables ends the flows of
  // removed backends on a worker thread); returns at once when there is none.
  virtual void settle() {}

  // A check, in two phases. make_reader(desired) (owner's thread) returns the read phase (it
  // compares the kernel with `desired` as it is now), or nullptr
  // when this dataplane's read is cheap enough to do inside repair(). repair() (owner's
  // thread) compares `reading` (or, when null, a read of its own) with `desired` and
  // re-asserts the desired value of whatever differs: safe even when a change was applied
  // after the read, because the desired value is what must be there in any case.
  virtual std::unique_ptr<KernelReader> make_reader(const state::DataplaneState& desired) {
    (void)desired;
    return nullptr;
  }
  virtual Repairs repair(const KernelReading* reading, const state::DataplaneState& desired) = 0;

  // Removes everything this dataplane installed on this node (maps, links, table).
  virtual void remove_all() = 0;

  virtual Stats stats() = 0;
};

}  // namespace portway::dataplane
