// bench_snapshot.h's fleet as a real SQLite store on disk, and one-sandbox changes to it as
// `portway sandbox set` commits them (model::set_sandbox_state): what the change-to-kernel
// benchmarks feed a compiler or a running daemon.
#pragma once

#include <string>
#include <vector>

#include "bench_snapshot.h"
#include "model/sandbox_ops.h"
#include "store/store.h"

namespace portway::bench {

// The fleet written in one transaction; apps carry no text, since compiling reads only
// Services, sandboxes and claims.
inline void write_fleet(store::Store& st, const state::Snapshot& fleet) {
  auto tx = st.begin_write();
  for (const auto& svc : fleet.services) tx->put_app({svc.app, "", "{}", 1, 0});
  for (const auto& svc : fleet.services) tx->put_service(svc);
  for (const auto& svc : fleet.services) {
    std::vector<store::NodePortClaim> mine;
    for (const auto& c : fleet.claims) {
      if (c.app == svc.app) mine.push_back(c);
    }
    tx->replace_claims(svc.app, mine);
  }
  for (const auto& sb : fleet.sandboxes) tx->put_sandbox(sb);
  tx->commit();
}

// Change number `n` of a fleet of `services`: one sandbox, spread over the fleet, to the next
// state of its cycle (draining, stopped, running: a member's state changed, removed, added).
inline constexpr store::SandboxState kChangeCycle[] = {store::SandboxState::draining, store::SandboxState::stopped,
                                                       store::SandboxState::running};

// The fleet index of change `n`'s sandbox (bench_snapshot.h: its address is 0xC6124000 + index).
inline int changed_sandbox(int services, int n) { return (n / 3) * 7919 % (services * kBackends); }

inline void commit_sandbox_change(store::Store& st, int services, int n) {
  const auto& kCycle = kChangeCycle;
  const int sandbox = changed_sandbox(services, n);
  const std::string id = "app" + std::to_string(sandbox / kBackends) + "-" + std::to_string(sandbox % kBackends);
  auto tx = st.begin_write();
  model::set_sandbox_state(*tx, id, kCycle[n % 3], n);
  tx->commit();
}

}  // namespace portway::bench
