// `--dataplane auto|xdp|nft` (docs/dataplane.md "Choosing the dataplane"): auto tries the fast path
// (the loader's verifier and the attach are the real probe) and falls back to nftables on any
// failure, with the reason logged once and returned for `portway status`. Never both at
// once: whichever is chosen, what the other one left installed is removed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/node_settings.h"
#include "dataplane/dataplane.h"
#include "dataplane/probe/feature_probe.h"
#include "errors/error.h"

namespace portway::dataplane::probe {

// The steps of bringing a dataplane up and the other one down. A switch is crash-safe because
// of their order: the chosen dataplane is complete (programmed with the desired state, flows
// carried over, attached) before anything of the other one is removed, so a process killed at
// any moment leaves at least one complete dataplane forwarding, and the next sync finishes.
struct DataplaneFactories {
  // Brings the fast path up complete; throws (any std::exception, its what() is the reason)
  // on any failure, having removed whatever this attempt created when no fast path was
  // installed before (a running one is left as it was).
  std::function<std::unique_ptr<Dataplane>()> make_xdp;
  // Brings the nftables dataplane up complete (its table programmed).
  std::function<std::unique_ptr<Dataplane>()> make_nft;
  // Removes what the fast path has installed (pins, links, tc filters), carrying its flows.
  std::function<void()> remove_xdp;
  // Removes the nftables table.
  std::function<void()> remove_nft;
  // A fast path is installed and attached (forwarding) before this sync touches anything.
  std::function<bool()> xdp_running;
};

struct DataplaneChoiceResult {
  std::unique_ptr<Dataplane> dataplane;
  bool fell_back = false;  // auto ended on nftables
  std::string reason;      // one line: why this dataplane, for the log and `portway status`
};

class DataplaneUnavailable : public Error {
 public:
  explicit DataplaneUnavailable(const std::string& message) : Error(kExitEnvironment, message) {}
};

// `settings.dataplane` decides: xdp (no fallback: throws DataplaneUnavailable with the
// reason), nft, or automatic. The chosen dataplane is returned complete; the other one's state
// has been removed after that, so a failed fast-path attempt never disturbs a working
// nftables table. auto falls back to nftables only when no fast path is running: a running
// fast path whose refresh fails (or that the probe now finds impossible) is kept, and
// DataplaneUnavailable says why; switching it off is an explicit `nft`.
DataplaneChoiceResult choose_dataplane(const config::NodeSettings& settings, const ProbeReport& probe,
                                       const DataplaneFactories& factories);

}  // namespace portway::dataplane::probe
