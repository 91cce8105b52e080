#include "agent/sync.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "dataplane/handoff/switch_steps.h"
#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/probe/choose.h"
#include "dataplane/probe/feature_probe.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "state/compile.h"

namespace portway::agent {

std::unique_ptr<dataplane::Dataplane> make_dataplane(dataplane::Kind kind,
                                                     const config::NodeSettings& settings) {
  if (kind == dataplane::Kind::xdp) return std::make_unique<dataplane::xdp::XdpDataplane>(settings);
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

SyncOutcome sync_dataplane(const loader::PinFolderLock& held, const state::DataplaneState& desired,
                           const config::NodeSettings& settings, config::DataplaneChoice choice,
                           const DataplaneFactory& factory) {
  if (held.folder() != settings.bpffs_dir)
    throw std::logic_error("sync of " + settings.bpffs_dir + " under the lock of " + held.folder());
  config::NodeSettings chosen_settings = settings;
  chosen_settings.dataplane = choice;
  dataplane::ApplyReport report;  // of the dataplane that ends up chosen
  const auto nft_installed = [&] {
    auto dp = factory(dataplane::Kind::nft, chosen_settings);
    auto* nft = dynamic_cast<dataplane::nft::NftDataplane*>(dp.get());
    return nft && nft->is_installed();
  };
  dataplane::probe::DataplaneFactories factories{
      // The fast path is "available" once it has loaded and attached: the real probe.
      .make_xdp =
          [&] {
            auto dp = factory(dataplane::Kind::xdp, chosen_settings);
            auto* xdp = dynamic_cast<dataplane::xdp::XdpDataplane*>(dp.get());
            if (!xdp) {
              report = dp->apply(desired);
              return dp;
            }
            // A fast path that already runs (flows in its maps, links attached) is not this
            // attempt's to tear down: a failed upgrade or a bad settings file must leave it
            // forwarding. Only what this attempt created from nothing is removed.
            const bool was_installed = xdp->is_installed();
            try {
              report = dataplane::handoff::start_fast_path(*xdp, desired, nft_installed());
            } catch (...) {
              try {
                if (!was_installed) xdp->remove_all();
              } catch (const std::exception&) {
                // the original failure is the one worth reporting
              }
              throw;
            }
            return dp;
          },
      .make_nft =
          [&] {
            auto dp = factory(dataplane::Kind::nft, chosen_settings);
            report = dp->apply(desired);
            return dp;
          },
      .remove_xdp =
          [&] {
            auto dp = factory(dataplane::Kind::xdp, chosen_settings);
            if (auto* xdp = dynamic_cast<dataplane::xdp::XdpDataplane*>(dp.get()))
              dataplane::handoff::retire_fast_path(*xdp, report.notes);
            else
              dp->remove_all();
          },
      .remove_nft = [&] { factory(dataplane::Kind::nft, chosen_settings)->remove_all(); },
      .xdp_running =
          [&] {
            auto dp = factory(dataplane::Kind::xdp, chosen_settings);
            auto* xdp = dynamic_cast<dataplane::xdp::XdpDataplane*>(dp.get());
            return xdp && xdp->is_running();
          },
  };
  const dataplane::probe::ProbeReport probe = dataplane::probe::probe_kernel(chosen_settings);
  dataplane::probe::DataplaneChoiceResult choice_result =
      dataplane::probe::choose_dataplane(chosen_settings, probe, factories);

  SyncOutcome out;
  out.active = choice_result.dataplane->kind();
  out.reason = choice_result.reason;
  out.report = std::move(report);
  if (auto* nft = dynamic_cast<dataplane::nft::NftDataplane*>(choice_result.dataplane.get()))
    nft->wait_for_flow_cleanup();
  return out;
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
