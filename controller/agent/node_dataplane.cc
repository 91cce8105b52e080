#include "agent/node_dataplane.h"

#include <stdexcept>

#include "dataplane/probe/choose.h"
#include "dataplane/probe/feature_probe.h"

namespace portway::agent {
namespace {

// The diff that undoes `d` once it was applied to `before` (`before` as it was, for the
// complete member lists).
state::StateDiff inverse(const state::StateDiff& d, const state::DataplaneState& before) {
  const auto flip = [](const auto& c) {
    auto out = c;
    std::swap(out.added, out.removed);
    for (auto& [b, a] : out.changed) std::swap(b, a);
    return out;
  };
  state::StateDiff out;
  out.frontends = flip(d.frontends);
  out.node_ports = flip(d.node_ports);
  out.backend_sets.added = d.backend_sets.removed;
  out.backend_sets.removed = d.backend_sets.added;
  for (const auto& c : d.backend_sets.changed) {
    const state::BackendSet* was = before.find_backend_set(c.id);
    out.backend_sets.changed.push_back({c.id, flip(c.members), was ? was->members : std::vector<state::Member>{}});
  }
  return out;
}

}  // namespace

NodeDataplane::NodeDataplane(config::NodeSettings settings, config::DataplaneChoice choice,
                             std::chrono::milliseconds lock_wait, DataplaneFactory factory)
    : settings_(std::move(settings)),
      choice_(choice),
      factory_(std::move(factory)),
      lock_(lock_node(settings_, lock_wait)) {}

NodeDataplane::~NodeDataplane() = default;

std::unique_ptr<dataplane::Dataplane> NodeDataplane::take_or_make(dataplane::Kind kind,
                                                                  const config::NodeSettings& chosen) {
  if (active_ && active_->kind() == kind && !settings_changed_) return std::move(active_);
  return factory_(kind, chosen);
}

SyncOutcome NodeDataplane::sync(const state::DataplaneState& desired, std::uint64_t generation) {
  if (lock_.folder() != settings_.bpffs_dir)
    throw std::logic_error("sync of " + settings_.bpffs_dir + " under the lock of " + lock_.folder());
  config::NodeSettings chosen = settings_;
  chosen.dataplane = choice_;
  const bool had_active = active_ != nullptr;
  const dataplane::Kind previous = had_active ? active_->kind() : dataplane::Kind::nft;
  dataplane::ApplyReport report;  // of the dataplane that ends up chosen
  const auto installed = [&](dataplane::Kind k) {
    if (active_ && active_->kind() == k) return active_->is_installed();
    return factory_(k, chosen)->is_installed();
  };
  dataplane::probe::DataplaneFactories factories{
      // The fast path is "available" once it has loaded and attached: the real probe.
      .make_xdp =
          [&] {
            auto dp = take_or_make(dataplane::Kind::xdp, chosen);
            // A fast path that already runs (flows in its maps, links attached) is not this
            // attempt's to tear down: a failed upgrade or a bad settings file must leave it
            // forwarding. Only what this attempt created from nothing is removed.
            const bool was_installed = dp->is_installed();
            try {
              report = dp->take_over(desired, installed(dataplane::Kind::nft));
            } catch (...) {
              try {
                if (!was_installed) dp->remove_all();
              } catch (const std::exception&) {
                // the original failure is the one worth reporting
              }
              throw;
            }
            return dp;
          },
      .make_nft =
          [&] {
            auto dp = take_or_make(dataplane::Kind::nft, chosen);
            report = dp->take_over(desired, installed(dataplane::Kind::xdp));
            return dp;
          },
      .remove_xdp = [&] { take_or_make(dataplane::Kind::xdp, chosen)->hand_over(report.notes); },
      .remove_nft = [&] { take_or_make(dataplane::Kind::nft, chosen)->hand_over(report.notes); },
      .xdp_running =
          [&] {
            if (active_ && active_->kind() == dataplane::Kind::xdp) return active_->is_running();
            return factory_(dataplane::Kind::xdp, chosen)->is_running();
          },
  };
  dataplane::probe::DataplaneChoiceResult choice_result;
  try {
    const dataplane::probe::ProbeReport probe = dataplane::probe::probe_kernel(chosen);
    choice_result = dataplane::probe::choose_dataplane(chosen, probe, factories);
  } catch (...) {
    // The kernel still does what it did; keep a dataplane of that kind to change it further
    // (a new object: it reads back what it needs).
    if (!active_ && had_active) active_ = factory_(previous, chosen);
    throw;
  }
  choice_result.dataplane->settle();

  active_ = std::move(choice_result.dataplane);
  settings_changed_ = false;
  ++epoch_;
  reason_ = choice_result.reason;
  desired_ = desired;
  generation_ = generation;

  SyncOutcome out;
  out.active = active_->kind();
  out.reason = reason_;
  out.report = std::move(report);
  out.store_generation = generation;
  return out;
}

dataplane::ApplyReport NodeDataplane::apply_changes(const state::StateDiff& d, std::uint64_t generation) {
  if (!active_) throw std::logic_error("apply_changes before the first sync");
  const state::StateDiff undo = inverse(d, desired_);
  state::patch_in_place(desired_, d);  // throws before anything is written, desired_ unchanged
  dataplane::ApplyReport report;
  try {
    report = active_->apply_changes(d, desired_);
  } catch (...) {
    state::patch_in_place(desired_, undo);
    throw;
  }
  generation_ = generation;
  return report;
}

PendingCheck NodeDataplane::begin_check() {
  if (!active_) throw std::logic_error("check before the first sync");
  return {active_->make_reader(desired_), epoch_};
}

CheckReport NodeDataplane::finish_check(const PendingCheck& pending, const dataplane::KernelReading* reading) {
  if (!active_) throw std::logic_error("check before the first sync");
  if (pending.epoch != epoch_) reading = nullptr;
  dataplane::Repairs repairs = active_->repair(reading, desired_);
  active_->settle();
  CheckReport report;
  report.repairs = std::move(repairs.counts);
  report.notes = std::move(repairs.notes);
  return report;
}

CheckReport NodeDataplane::check() {
  PendingCheck pending = begin_check();
  std::unique_ptr<dataplane::KernelReading> reading = pending.reader ? pending.reader->read() : nullptr;
  return finish_check(pending, reading.get());
}

void NodeDataplane::update_settings(const config::NodeSettings& settings, config::DataplaneChoice choice) {
  settings_ = settings;
  choice_ = choice;
  settings_changed_ = true;
}

dataplane::Stats NodeDataplane::stats() {
  if (!active_) return {};
  dataplane::Stats s = active_->stats();
  dataplane::attribute(s, desired_);
  return s;
}

state::DataplaneState NodeDataplane::installed() {
  if (!active_) throw std::logic_error("no dataplane synced yet");
  return active_->installed();
}

dataplane::Kind NodeDataplane::active() const {
  if (!active_) throw std::logic_error("no dataplane synced yet");
  return active_->kind();
}

}  // namespace portway::agent
