#include "dataplane/nft/nft_dataplane.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "dataplane/conntrack/flow_reaper.h"
#include "dataplane/node_addresses.h"
#include "dataplane/nft/elements.h"
#include "dataplane/nft/flow_ends.h"
#include "dataplane/nft/generation.h"
#include "dataplane/nft/nft_context.h"
#include "dataplane/nft/reconstruct.h"
#include "dataplane/nft/representable.h"
#include "dataplane/nft/representable_diff.h"
#include "dataplane/nft/table_reader.h"

namespace portway::dataplane::nft {

struct NftDataplane::View {
  state::DataplaneState state;
  InstalledIndex index;
  SlotBook slots;
  NodeAddresses node_addresses;
  std::uint32_t generation = 0;
  std::chrono::steady_clock::time_point checked;  // last full check
};


namespace {

// What the reader compares the dump with: the view when the reader was made.
struct ReaderBasis {
  state::DataplaneState want;
  NodeAddresses node_addresses;
  SetNumbers numbers;
};

// The reading of a check: the whole table, the ruleset generation around the dump, and the
// comparison with the view as it was when the reader was made (done on the reader's thread:
// planning against a 10,000-Service dump takes seconds of CPU too).
struct NftReading final : KernelReading {
  ReadBack rb;
  std::uint32_t generation_before = 0;
  std::uint32_t generation_after = 0;
  bool compared = false;             // against the basis (there was a view)
  std::size_t differences = 0;       // structure problems + element differences
  std::string what;                  // the differences, in words
  state::DataplaneState reconstructed;
};

class NftReader final : public KernelReader {
 public:
  explicit NftReader(std::optional<ReaderBasis> basis) : basis_(std::move(basis)) {}

  std::unique_ptr<KernelReading> read() override {
    auto out = std::make_unique<NftReading>();
    out->generation_before = generation_.read();
    out->rb = table_.read(TableReader::Scope::all);
    out->generation_after = generation_.read();
    if (basis_ && out->rb.table) {
      out->reconstructed = reconstruct(out->rb, basis_->numbers, &basis_->want).state;
      const FullPlan plan = plan_full(out->rb, basis_->want, basis_->node_addresses, basis_->numbers);
      out->compared = true;
      out->differences = plan.structure.size() + plan.element_differences();
      out->what = std::to_string(plan.elements_missing) + " elements missing, " +
                  std::to_string(plan.elements_changed) + " changed, " + std::to_string(plan.elements_extra) +
                  " extra";
      for (const auto& p : plan.structure) out->what += "; " + p;
    }
    return out;
  }

 private:
  std::optional<ReaderBasis> basis_;
  TableReader table_;  // sockets opened in the namespace current when the reader is made
  GenerationReader generation_;
};

}  // namespace

NftDataplane::NftDataplane(const config::NodeSettings& settings) : NftDataplane(settings, Options{}) {}

NftDataplane::NftDataplane(const config::NodeSettings& settings, Options options)
    : settings_(settings),
      options_(options),
      ctx_(std::make_unique<NftContext>()),
      generation_(std::make_unique<GenerationReader>()),
      reader_(std::make_unique<TableReader>()) {
  if (options_.end_flows) {
    try {
      reaper_ = std::make_unique<conntrack::FlowReaper>(std::make_unique<conntrack::ConntrackTable>());
    } catch (const std::exception& e) {
      // Programming the ruleset matters more than ending flows: go on, say so at use.
      spdlog::warn("nft dataplane: conntrack unavailable, removed backends keep their flows: {}", e.what());
    }
  }
}

NftDataplane::~NftDataplane() = default;

const state::DataplaneState* NftDataplane::names() const {
  if (view_) return &view_->state;
  return learned_ ? &*learned_ : nullptr;
}

ReadBack NftDataplane::read_table(TableReader::Scope scope) { return reader_->read(scope); }

NodeAddresses NftDataplane::node_addresses() const {
  NodeAddresses out{node_ipv4_addresses(settings_), node_ipv6_addresses(settings_)};
  const auto sort_unique = [](auto& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  sort_unique(out.v4);
  sort_unique(out.v6);
  return out;
}

namespace {

std::string node_addresses_note(const NodeAddresses& addresses) {
  std::string s = "node ports answer on:";
  for (const auto a : addresses.v4) s += " " + ipv4_text(a);
  for (const auto& a : addresses.v6) s += " " + ipv6_text(a);
  if (addresses.v4.empty() && addresses.v6.empty())
    s += " no address (no node address configured and the uplinks have none)";
  return s;
}

}  // namespace

state::DataplaneState NftDataplane::installed() {
  return reconstruct(read_table(TableReader::Scope::state), numbers_, names()).state;
}

void NftDataplane::learn_names(const state::DataplaneState& s) {
  const auto rep = representable(s);
  const auto& r = rep.of(s);
  for (const auto& set : r.backend_sets()) numbers_.assign(set.id);
  learned_ = r;
}

ApplyReport NftDataplane::apply(const state::DataplaneState& desired) {
  auto rep = representable(desired);
  const state::DataplaneState& want = rep.of(desired);
  note_touched({}, true);
  if (view_trusted()) {
    try {
      return incremental_apply(want, rep.notes);
    } catch (const NftError& e) {
      spdlog::warn("nft dataplane: incremental change failed ({}); doing a full check", e.what());
    }
  }
  return full_apply(want, std::move(rep.notes));
}

bool NftDataplane::view_trusted() {
  if (!view_ || std::chrono::steady_clock::now() - view_->checked >= options_.full_check_every) return false;
  // Unchanged generation: nobody committed anything, the view is exact. Changed: someone
  // committed something (often another program's own table); if portway's structure is
  // intact, the change is trusted to apply, and a failing transaction falls back to a full
  // check. Lost elements are caught by the periodic full check.
  return generation_->read() == view_->generation ||
         structure_problems(read_table(TableReader::Scope::none), view_->index.uses).empty();
}

void NftDataplane::note_touched(const state::StateDiff& d, bool everything) {
  if (!touched_) return;
  touched_->everything = touched_->everything || everything;
  touched_->add(d);
}

ApplyReport NftDataplane::apply_changes(const state::StateDiff& d, const state::DataplaneState& desired) {
  if (!view_trusted()) return apply(desired);
  // Throws std::invalid_argument before anything is written when `d` does not fit.
  const state::StateDiff r = representable_diff(d, view_->state, view_->index, desired);
  {
    // Checked before the commit: patch_in_place must not fail after it.
    const auto fits = [&](const auto& changes, const char* what) {
      for (const auto& x : changes.added)
        if (view_->state.find(x.key)) throw std::invalid_argument(std::string("diff adds an existing ") + what);
      for (const auto& x : changes.removed)
        if (!view_->state.find(x.key)) throw std::invalid_argument(std::string("diff removes a missing ") + what);
      for (const auto& [b, a] : changes.changed)
        if (!view_->state.find(b.key)) throw std::invalid_argument(std::string("diff changes a missing ") + what);
    };
    fits(r.frontends, "frontend");
    fits(r.node_ports, "node port");
  }
  ApplyReport report;
  note_touched(r, false);
  try {
    commit_diff(r, desired, report);
  } catch (const NftError& e) {
    spdlog::warn("nft dataplane: incremental change failed ({}); doing a full check", e.what());
    return apply(desired);
  }
  // Flows to end are taken from the state before the change (the frontends that led to a
  // removed backend).
  const auto flows = flows_to_end(view_->state, r);
  state::patch_in_place(view_->state, r);
  if (reaper_) reaper_->submit(flows);
  report.applied = r;
  return report;
}

ApplyReport NftDataplane::repair(const state::DataplaneState& desired) {
  auto rep = representable(desired);
  return full_apply(rep.of(desired), std::move(rep.notes));
}

std::unique_ptr<KernelReader> NftDataplane::make_reader(const state::DataplaneState&) {
  touched_ = std::make_unique<state::TouchedKeys>();
  if (!view_) {
    touched_->everything = true;  // nothing to compare the reading with
    return std::make_unique<NftReader>(std::nullopt);
  }
  // One copy of the view (milliseconds at 10,000 Services), so that the comparison runs on
  // the reader's thread.
  return std::make_unique<NftReader>(ReaderBasis{view_->state, view_->node_addresses, numbers_});
}

Repairs NftDataplane::repair(const KernelReading* reading, const state::DataplaneState& desired) {
  std::unique_ptr<state::TouchedKeys> touched =
      touched_ ? std::move(touched_) : std::make_unique<state::TouchedKeys>();
  auto rep = representable(desired);
  const state::DataplaneState& want = rep.of(desired);
  Repairs out;
  const auto repair_with = [&](const char* kind, const std::string& what, std::optional<ReadBack> rb = std::nullopt) {
    const ApplyReport r = full_apply(want, {}, std::move(rb));
    out.add(kind, "nft: " + what);
    for (const auto& n : r.notes) out.notes.push_back("nft: " + n);
  };

  // The structure first, read now (cheap at any size): a missing table or chain is found
  // whatever happened during the dump.
  const ReadBack structure = read_table(TableReader::Scope::none);
  if (!structure.table) {
    repair_with("nft_table_missing", "table inet portway was missing (deleted, or the ruleset flushed)");
    return out;
  }
  if (!view_) {
    repair_with("nft_unverified", "no view of what is installed: the table was read back and made exact");
    return out;
  }
  if (auto problems = structure_problems(structure, view_->index.uses); !problems.empty()) {
    std::string what;
    for (const auto& p : problems) what += (what.empty() ? "" : "; ") + p;
    repair_with("nft_structure", "the table's structure was damaged: " + what);
    return out;
  }

  std::unique_ptr<KernelReading> own;
  if (!reading) {
    own = NftReader(ReaderBasis{view_->state, view_->node_addresses, numbers_}).read();
    reading = own.get();
  }
  const auto& r = static_cast<const NftReading&>(*reading);  // made by make_reader() above
  if (!r.rb.table || !r.compared) return out;  // re-created during the dump: the structure is fine now

  if (r.generation_before == r.generation_after && r.generation_after == generation_->read() &&
      touched->none()) {
    // Nobody committed during or since the dump, and the view is still the one it was
    // compared with: the comparison is exact. The repair plans against the same dump (no
    // re-read).
    if (r.differences == 0) return out;
    repair_with("nft_elements", r.what, r.rb);
    return out;
  }
  // Something was committed during or after the dump (possibly by this object): compare the
  // state the dump holds with the view, except where this object changed it since.
  if (touched->everything) return out;
  const std::size_t drift = touched->outside(state::diff(r.reconstructed, view_->state));
  if (drift > 0)
    repair_with("nft_elements", std::to_string(drift) + " frontends, node ports or backend sets differed from what "
                "portway installed");
  return out;
}

ApplyReport NftDataplane::full_apply(const state::DataplaneState& desired, std::vector<std::string> notes,
                                     std::optional<ReadBack> read) {
  ApplyReport report;
  report.notes = std::move(notes);
  ReadBack rb = read ? std::move(*read) : read_table(TableReader::Scope::all);
  const bool had_table = rb.table;
  for (const auto& set : desired.backend_sets()) numbers_.assign(set.id);
  // The kernel holds no names: port names come from what this process installed, else from
  // the desired state itself (a port renamed while nobody watched is not a kernel change).
  const state::DataplaneState* label = names() ? names() : &desired;
  Reconstructed before = reconstruct(rb, numbers_, label);
  NodeAddresses node_addrs = node_addresses();

  FullPlan plan = plan_full(std::move(rb), desired, node_addrs, numbers_);
  std::unique_ptr<View> previous = std::move(view_);  // gone until the commit is known to have happened
  ctx_->run(plan.tx.text());
  last_tx_ = plan.tx.size();
  const std::uint32_t generation = generation_->read();

  // Drift: the table did not hold what it should. Element differences alone are no drift
  // when the table implemented another state than the desired one (that is the change).
  std::vector<std::string> drift = plan.structure;
  if (!had_table && previous) drift.push_back("table inet portway was missing");
  if (had_table && previous && before.state != previous->state)
    drift.push_back("the table no longer held what portway installed");
  if (had_table && before.state == desired && plan.element_differences() > 0) {
    drift.push_back(std::to_string(plan.elements_missing) + " elements missing, " +
                    std::to_string(plan.elements_changed) + " changed, " + std::to_string(plan.elements_extra) +
                    " extra");
  }
  for (const auto& p : before.problems) drift.push_back(p);
  if (!had_table && !previous) report.notes.push_back("created table inet portway");
  if (!had_table || plan.node_addresses_changed) report.notes.push_back(node_addresses_note(node_addrs));
  if (!drift.empty()) {
    std::string what;
    for (const auto& d : drift) what += (what.empty() ? "" : "; ") + d;
    report.notes.push_back("repaired drift: " + what);
    spdlog::warn("nft dataplane: repaired drift: {}", what);
  }

  numbers_.retain([&](const std::string& id) { return desired.find_backend_set(id) != nullptr; });
  view_ = std::make_unique<View>(View{desired, InstalledIndex::build(desired, plan.uses), std::move(plan.slots),
                                      std::move(node_addrs), generation, std::chrono::steady_clock::now()});
  learned_.reset();
  report.applied = state::diff(before.state, desired);
  end_flows(before.state, report.applied);
  return report;
}

ApplyReport NftDataplane::incremental_apply(const state::DataplaneState& desired, std::vector<std::string> notes) {
  ApplyReport report;
  report.notes = std::move(notes);
  state::StateDiff d = state::diff(view_->state, desired);
  commit_diff(d, desired, report);
  state::DataplaneState before = std::move(view_->state);
  view_->state = desired;
  end_flows(before, d);
  report.applied = std::move(d);
  return report;
}

void NftDataplane::commit_diff(const state::StateDiff& d, const state::DataplaneState& after, ApplyReport& report) {
  NodeAddresses node_addrs = node_addresses();
  const bool node_addrs_changed = node_addrs != view_->node_addresses;
  if (d.empty() && !node_addrs_changed) {
    last_tx_ = {};
    return;
  }
  for (const auto& set : d.backend_sets.added) numbers_.assign(set.id);
  IncrementalPlan plan = plan_incremental(view_->state, view_->index, view_->slots, after, d, numbers_);
  plan_node_addresses(view_->node_addresses, node_addrs, plan.tx);
  if (!plan.tx.empty()) {
    try {
      ctx_->run(plan.tx.text());
    } catch (...) {
      // The transaction did not commit, but the generation may have moved under us: make the
      // next apply a full check rather than trust the view.
      view_.reset();
      throw;
    }
  }
  last_tx_ = plan.tx.size();
  try {
    view_->generation = generation_->read();
  } catch (...) {
    view_.reset();
    throw;
  }
  view_->index.apply(d);
  view_->index.uses = std::move(plan.uses);
  plan.update(view_->slots);
  if (node_addrs_changed) report.notes.push_back(node_addresses_note(node_addrs));
  view_->node_addresses = std::move(node_addrs);
  for (const auto& set : d.backend_sets.removed) numbers_.release(set.id);
}

void NftDataplane::end_flows(const state::DataplaneState& before, const state::StateDiff& d) {
  if (reaper_) reaper_->submit(flows_to_end(before, d));
}

std::size_t NftDataplane::wait_for_flow_cleanup() {
  if (!reaper_) return 0;
  reaper_->drain();
  return reaper_->ended();
}

bool NftDataplane::is_installed() { return reader_->table_exists(); }

void NftDataplane::remove_all() {
  view_.reset();
  if (!reader_->table_exists()) return;
  ctx_->run("delete table " + std::string(kTableRef));
  last_tx_ = {};
}

Stats NftDataplane::stats() {
  Stats out;
  const ReadBack rb = read_table(TableReader::Scope::stats);
  if (!rb.table) return out;
  const auto set_counters = [&](SetName s) -> const std::unordered_map<std::string, Counter>* {
    const auto it = rb.sets.find(std::string(name_of(s)));
    return it == rb.sets.end() ? nullptr : &it->second.counters;
  };
  const auto get = [&](SetName s, const std::string& key) {
    const auto* c = set_counters(s);
    if (!c) return Counter{};
    const auto it = c->find(key);
    return it == c->end() ? Counter{} : it->second;
  };

  const Reconstructed r = reconstruct(rb, numbers_, names());
  for (const auto& f : r.state.frontends()) {
    const std::string key = frontend_key_text(f.key);
    const bool v6 = std::holds_alternative<net::Ipv6>(f.key.address);
    const Counter pk = get(v6 ? SetName::svc_fe6 : SetName::svc_fe, key);
    out.frontends[state::to_string(f.key)] = {pk.packets, pk.bytes,
                                              get(v6 ? SetName::svc_tport6 : SetName::svc_tport, key).packets,
                                              get(v6 ? SetName::svc_rej6 : SetName::svc_rej, key).packets};
  }
  for (const auto& n : r.state.node_ports()) {
    const std::string key = node_port_key_text(n.key);
    const Counter pk = get(SetName::np_fe, key);
    out.frontends["node:" + std::to_string(n.key.node_port) + "/" + std::string(config::to_string(n.key.protocol))] = {
        pk.packets, pk.bytes, get(SetName::np_tport, key).packets, get(SetName::np_rej, key).packets};
  }
  for (const auto& set : r.state.backend_sets()) {
    for (const auto& m : set.members) {
      // One entry per backend, named by its IPv4 address if it has one (as the fast path's,
      // whose counters are per backend id, shared by both families), with its IPv6 traffic added.
      TrafficCounters c{};
      if (m.ipv4) {
        const std::string a4 = ipv4_text(*m.ipv4);
        const Counter pk = get(SetName::be_pkts, a4);
        c = {pk.packets, pk.bytes, get(SetName::be_new, a4).packets, 0};
      }
      if (m.ipv6) {
        const std::string a6 = ipv6_text(*m.ipv6);
        const Counter pk6 = get(SetName::be_pkts6, a6);
        c.packets += pk6.packets;
        c.bytes += pk6.bytes;
        c.new_flows += get(SetName::be_new6, a6).packets;
      }
      out.backends[set.id + " " + state::to_string(m.key().primary())] = c;
    }
  }
  for (const auto name : kDropCounters) {
    const auto it = rb.counters.find(std::string(name));
    out.drops[std::string(name)] = it == rb.counters.end() ? 0 : it->second.packets;
  }
  return out;
}

}  // namespace portway::dataplane::nft
