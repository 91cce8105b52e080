// `--dataplane auto|xdp|nft` (dataplane.md "Choosing the dataplane"): auto tries the fast path
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

namespace portway::dataplane::probe {

struct DataplaneFactories {
  // Loads and attaches the fast path; throws (any std::exception, its what() is the reason)
  // on any failure, having removed whatever it attached.
  std::function<std::unique_ptr<Dataplane>()> make_xdp;
  // The nftables dataplane (cheap: nothing is programmed until apply()).
  std::function<std::unique_ptr<Dataplane>()> make_nft;
  // Removes what a fast path of an earlier run left behind (pins, links, tc filters).
  std::function<void()> remove_xdp;
};

struct DataplaneChoiceResult {
  std::unique_ptr<Dataplane> dataplane;
  bool fell_back = false;  // auto ended on nftables
  std::string reason;      // one line: why this dataplane, for the log and `portway status`
};

class DataplaneUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `settings.dataplane` decides: xdp (no fallback: throws DataplaneUnavailable with the
// reason), nft, or automatic. The chosen dataplane is returned; the other one's state has
// been removed (remove_all()/remove_xdp), after the chosen one is known to work, so a failed
// fast-path attempt never disturbs a working nftables table.
DataplaneChoiceResult choose_dataplane(const config::NodeSettings& settings, const ProbeReport& probe,
                                       const DataplaneFactories& factories);

}  // namespace portway::dataplane::probe
