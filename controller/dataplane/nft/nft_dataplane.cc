#include "dataplane/nft/nft_dataplane.h"

#include <spdlog/spdlog.h>

#include "dataplane/conntrack/flow_reaper.h"
#include "dataplane/nft/elements.h"
#include "dataplane/nft/flow_ends.h"
#include "dataplane/nft/generation.h"
#include "dataplane/nft/nft_context.h"
#include "dataplane/nft/reconstruct.h"
#include "dataplane/nft/representable.h"
#include "dataplane/nft/table_reader.h"

namespace portway::dataplane::nft {

struct NftDataplane::View {
  state::DataplaneState state;
  InstalledIndex index;
  std::uint32_t generation = 0;
  std::chrono::steady_clock::time_point checked;  // last full check
};

NftDataplane::NftDataplane() : NftDataplane(Options{}) {}

NftDataplane::NftDataplane(Options options)
    : options_(options),
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
  if (view_ && std::chrono::steady_clock::now() - view_->checked < options_.full_check_every) {
    // Unchanged generation: nobody committed anything, the view is exact. Changed: someone
    // committed something (often another program's own table); if portway's structure is
    // intact, the change is trusted to apply, and a failing transaction falls back to a full
    // check below. Lost elements are caught by the periodic full check.
    const std::uint32_t generation = generation_->read();
    const bool trusted = generation == view_->generation ||
                         structure_problems(read_table(TableReader::Scope::none), view_->index.uses).empty();
    if (trusted) {
      try {
        return incremental_apply(want, rep.notes);
      } catch (const NftError& e) {
        spdlog::warn("nft dataplane: incremental change failed ({}); doing a full check", e.what());
      }
    }
  }
  return full_apply(want, std::move(rep.notes));
}

ApplyReport NftDataplane::repair(const state::DataplaneState& desired) {
  auto rep = representable(desired);
  return full_apply(rep.of(desired), std::move(rep.notes));
}

ApplyReport NftDataplane::full_apply(const state::DataplaneState& desired, std::vector<std::string> notes) {
  ApplyReport report;
  report.notes = std::move(notes);
  ReadBack rb = read_table(TableReader::Scope::all);
  const bool had_table = rb.table;
  for (const auto& set : desired.backend_sets()) numbers_.assign(set.id);
  // The kernel holds no names: port names come from what this process installed, else from
  // the desired state itself (a port renamed while nobody watched is not a kernel change).
  const state::DataplaneState* label = names() ? names() : &desired;
  Reconstructed before = reconstruct(rb, numbers_, label);

  FullPlan plan = plan_full(std::move(rb), desired, numbers_);
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
  if (!drift.empty()) {
    std::string what;
    for (const auto& d : drift) what += (what.empty() ? "" : "; ") + d;
    report.notes.push_back("repaired drift: " + what);
    spdlog::warn("nft dataplane: repaired drift: {}", what);
  }

  numbers_.retain([&](const std::string& id) { return desired.find_backend_set(id) != nullptr; });
  view_ = std::make_unique<View>(
      View{desired, InstalledIndex::build(desired, plan.uses), generation, std::chrono::steady_clock::now()});
  learned_.reset();
  report.applied = state::diff(before.state, desired);
  end_flows(before.state, report.applied);
  return report;
}

ApplyReport NftDataplane::incremental_apply(const state::DataplaneState& desired, std::vector<std::string> notes) {
  ApplyReport report;
  report.notes = std::move(notes);
  state::StateDiff d = state::diff(view_->state, desired);
  if (d.empty()) {
    last_tx_ = {};
    return report;
  }
  for (const auto& set : d.backend_sets.added) numbers_.assign(set.id);
  IncrementalPlan plan = plan_incremental(view_->state, view_->index, desired, d, numbers_);
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
  state::DataplaneState before = std::move(view_->state);
  view_->state = desired;
  for (const auto& set : d.backend_sets.removed) numbers_.release(set.id);

  end_flows(before, d);
  report.applied = std::move(d);
  return report;
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
    const Counter pk = get(SetName::svc_fe, key);
    out.frontends[state::to_string(f.key)] = {pk.packets, pk.bytes, get(SetName::svc_tport, key).packets,
                                              get(SetName::svc_rej, key).packets};
  }
  for (const auto& n : r.state.node_ports()) {
    const std::string key = node_port_key_text(n.key);
    const Counter pk = get(SetName::np_fe, key);
    out.frontends["node:" + std::to_string(n.key.node_port) + "/" + std::string(config::to_string(n.key.protocol))] = {
        pk.packets, pk.bytes, get(SetName::np_tport, key).packets, get(SetName::np_rej, key).packets};
  }
  for (const auto& set : r.state.backend_sets()) {
    for (const auto& m : set.members) {
      const std::string a = ipv4_text(m.ipv4);
      const Counter pk = get(SetName::be_pkts, a);
      out.backends[set.id + " " + a] = {pk.packets, pk.bytes, get(SetName::be_new, a).packets, 0};
    }
  }
  for (const auto name : kDropCounters) {
    const auto it = rb.counters.find(std::string(name));
    out.drops[std::string(name)] = it == rb.counters.end() ? 0 : it->second.packets;
  }
  return out;
}

}  // namespace portway::dataplane::nft
