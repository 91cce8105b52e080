#include "agent/node_dataplane.h"

#include <stdexcept>

namespace portway::agent {

NodeDataplane::NodeDataplane(config::NodeSettings settings, config::DataplaneChoice choice,
                             std::chrono::milliseconds lock_wait, DataplaneFactory factory)
    : settings_(std::move(settings)),
      choice_(choice),
      factory_(std::move(factory)),
      lock_(lock_node(settings_, lock_wait)) {}

NodeDataplane::~NodeDataplane() = default;

SyncOutcome NodeDataplane::sync(const state::DataplaneState& desired, std::uint64_t generation) {
  SyncOutcome out = sync_dataplane(lock_, desired, settings_, choice_, factory_);
  out.store_generation = generation;
  config::NodeSettings chosen = settings_;
  chosen.dataplane = choice_;
  active_ = factory_(out.active, chosen);
  reason_ = out.reason;
  desired_ = desired;
  generation_ = generation;
  return out;
}

dataplane::ApplyReport NodeDataplane::apply_changes(const state::StateDiff& d, std::uint64_t generation) {
  if (!active_) throw std::logic_error("apply_changes before the first sync");
  state::DataplaneState next = state::patch(desired_, d);  // throws before anything is written
  dataplane::ApplyReport report = active_->apply(next);
  desired_ = std::move(next);
  generation_ = generation;
  return report;
}

CheckReport NodeDataplane::check() {
  if (!active_) throw std::logic_error("check before the first sync");
  const SyncOutcome out = sync_dataplane(lock_, desired_, settings_, choice_, factory_);
  CheckReport report;
  if (!out.report.applied.empty()) report.repairs["state"] += 1;
  report.notes = out.report.notes;
  return report;
}

void NodeDataplane::update_settings(const config::NodeSettings& settings, config::DataplaneChoice choice) {
  settings_ = settings;
  choice_ = choice;
}

dataplane::Stats NodeDataplane::stats() {
  if (!active_) return {};
  dataplane::Stats s = active_->stats();
  dataplane::attribute(s, desired_);
  return s;
}

dataplane::Kind NodeDataplane::active() const {
  if (!active_) throw std::logic_error("no dataplane synced yet");
  return active_->kind();
}

}  // namespace portway::agent
