// The nftables fallback as a Dataplane (docs/dataplane.md, docs/nftables.md): one table
// `inet portway` driven through libnftables, every apply one transaction sized by what
// changed, drift repaired, foreign tables never touched, NATed flows of removed backends
// ended through netlink.
//
// All kernel handles (libnftables, the generation reader, conntrack) are opened when the
// object is constructed and stay bound to the network namespace current at that moment: a
// test can construct it inside a lab namespace and use it from anywhere.
//
// apply() keeps an in-memory view of what it installed and checks it against the kernel's
// ruleset generation (one netlink round trip): unchanged -> only the difference is written;
// changed by anyone -> the table is read back and repaired (repair() forces that).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/node_settings.h"
#include "dataplane/dataplane.h"
#include "dataplane/nft/planner.h"
#include "dataplane/nft/readback.h"
#include "dataplane/nft/set_numbers.h"
#include "dataplane/nft/table_reader.h"
#include "dataplane/nft/transaction.h"
#include "state/touched_keys.h"

namespace portway::dataplane::conntrack {
class FlowReaper;
}

namespace portway::dataplane::nft {

class NftContext;
class GenerationReader;

class NftDataplane final : public Dataplane {
 public:
  struct Options {
    bool end_flows = true;  // delete removed backends' conntrack entries
    // apply() reads everything back and compares at least this often (and whenever the
    // table's structure is found damaged); in between it trusts its view once the structure
    // checks out, so another program's nft commits do not make every apply a full check.
    std::chrono::seconds full_check_every{600};
  };

  // Node ports answer on `settings`' node addresses, or its uplinks' addresses when none are
  // configured (dataplane/node_addresses.h; read at every apply(), in the namespace current
  // then).
  explicit NftDataplane(const config::NodeSettings& settings);
  NftDataplane(const config::NodeSettings& settings, Options options);
  ~NftDataplane() override;

  Kind kind() const override { return Kind::nft; }
  state::DataplaneState installed() override;
  ApplyReport apply(const state::DataplaneState& desired) override;
  // One transaction planned from the diff alone (representable_diff.h, planner.h): no
  // whole-state diff, the view patched in place. Without a view (nothing applied yet by this
  // object) it is apply(desired).
  ApplyReport apply_changes(const state::StateDiff& d, const state::DataplaneState& desired) override;
  void remove_all() override;
  // The table inet portway exists (whatever it holds).
  bool is_installed() override;
  Stats stats() override;
  void settle() override { wait_for_flow_cleanup(); }

  // The check (docs/operations.md "Drift repair"): the reader dumps the whole table with
  // sockets of its own (the slow part: seconds at 10,000 Services); repair() checks the
  // structure now (cheap), and the elements against the reading, ignoring what this object
  // changed after the reader was made.
  std::unique_ptr<KernelReader> make_reader(const state::DataplaneState& desired) override;
  Repairs repair(const KernelReading* reading, const state::DataplaneState& desired) override;

  // A full check: reads the table back and makes it exactly `desired` (missing or extra
  // elements, chains, sets; a table someone flushed or deleted).
  ApplyReport repair(const state::DataplaneState& desired);

  // Tells installed() the names (set ids, port names) of a state without programming it,
  // e.g. for `portway status` in a process that did not apply anything.
  void learn_names(const state::DataplaneState& s);

  // The size of the last transaction apply()/repair() committed (zero when none was needed).
  TransactionSize last_transaction() const { return last_tx_; }
  // Flows of removed backends are ended by a worker right after apply() returns; this waits
  // for the work queued so far (tests, `portway sync` before it exits) and returns how many
  // conntrack entries were deleted in total.
  std::size_t wait_for_flow_cleanup();

 private:
  struct View;  // what this process installed: state, index, pick uses, generation

  ReadBack read_table(TableReader::Scope scope);
  NodeAddresses node_addresses() const;
  // `read`: a dump taken when the ruleset generation was the view's (nothing changed since);
  // nullopt reads the table now.
  ApplyReport full_apply(const state::DataplaneState& desired, std::vector<std::string> notes,
                         std::optional<ReadBack> read = std::nullopt);
  ApplyReport incremental_apply(const state::DataplaneState& desired, std::vector<std::string> notes);
  // Plans and commits `d` (representable, fitting view_->state); `after` answers look-ups of
  // the state after `d`. The view is left as before `d` (the callers move it).
  void commit_diff(const state::StateDiff& d, const state::DataplaneState& after, ApplyReport& report);
  // The view's structure is what portway built, or the ruleset did not change since.
  bool view_trusted();
  void note_touched(const state::StateDiff& d, bool everything);
  void end_flows(const state::DataplaneState& before, const state::StateDiff& d);
  const state::DataplaneState* names() const;

  config::NodeSettings settings_;
  Options options_;
  std::unique_ptr<NftContext> ctx_;
  std::unique_ptr<GenerationReader> generation_;
  std::unique_ptr<TableReader> reader_;
  std::unique_ptr<conntrack::FlowReaper> reaper_;
  SetNumbers numbers_;
  std::unique_ptr<View> view_;
  std::optional<state::DataplaneState> learned_;
  std::unique_ptr<state::TouchedKeys> touched_;  // what changed since the last make_reader()
  TransactionSize last_tx_;
};

}  // namespace portway::dataplane::nft
