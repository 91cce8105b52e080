#include "agent/sync.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "dataplane/handoff/switching_fast_path.h"
#include "dataplane/nft/nft_dataplane.h"
#include "state/compile.h"

namespace portway::agent {

std::unique_ptr<dataplane::Dataplane> make_dataplane(dataplane::Kind kind,
                                                     const config::NodeSettings& settings) {
  if (kind == dataplane::Kind::xdp) return std::make_unique<dataplane::handoff::SwitchingFastPath>(settings);
  return std::make_unique<dataplane::nft::NftDataplane>(settings);
}

state::DataplaneState compile_store(store::Store* store, std::uint64_t* generation) {
  if (!store) return {};
  auto tx = store->begin_read();
  const state::Snapshot snapshot = state::read_snapshot(*tx);
  if (generation) *generation = snapshot.generation;
  return state::compile(snapshot);
}

loader::PinFolderLock lock_node(const config::NodeSettings& settings, std::chrono::milliseconds wait) {
  return loader::PinFolderLock::acquire(settings.bpffs_dir, wait);
}

dataplane::SyncStatus status_of(const SyncOutcome& outcome, config::DataplaneChoice requested,
                                std::int64_t now_ms) {
  dataplane::SyncStatus s;
  s.dataplane = std::string(dataplane::to_string(outcome.active));
  s.requested = std::string(config::to_string(requested));
  s.reason = outcome.reason;
  s.last_sync_ms = now_ms;
  s.store_generation = outcome.store_generation;
  s.programmed_generation = outcome.store_generation;
  s.last_programmed_ms = now_ms;
  s.ready = true;
  s.changes = outcome.report.applied.frontends.size() + outcome.report.applied.node_ports.size() +
              outcome.report.applied.backend_sets.size();
  s.notes = outcome.report.notes;
  return s;
}

}  // namespace portway::agent
