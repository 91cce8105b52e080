#include "dataplane/probe/choose.h"

#include <spdlog/spdlog.h>

namespace portway::dataplane::probe {
namespace {

void remove_nft(const DataplaneFactories& f) {
  if (auto nft = f.make_nft()) nft->remove_all();
}

DataplaneChoiceResult use_nft(const DataplaneFactories& f, std::string reason, bool fell_back) {
  // The fast path must not stay attached next to the table (never both).
  f.remove_xdp();
  return {f.make_nft(), fell_back, std::move(reason)};
}

}  // namespace

DataplaneChoiceResult choose_dataplane(const config::NodeSettings& settings, const ProbeReport& probe,
                                       const DataplaneFactories& f) {
  switch (settings.dataplane) {
    case config::DataplaneChoice::nft:
      return use_nft(f, "nft: chosen by the dataplane setting", false);

    case config::DataplaneChoice::xdp: {
      std::unique_ptr<Dataplane> xdp;
      try {
        xdp = f.make_xdp();
      } catch (const std::exception& e) {
        // An explicit choice gets no fallback: say why and stop.
        throw DataplaneUnavailable(std::string("the XDP fast path could not be started: ") + e.what() +
                                   (probe.fast_path_possible() ? "" : " (" + unavailable_reason(probe) + ")"));
      }
      remove_nft(f);
      return {std::move(xdp), false, "xdp: chosen by the dataplane setting"};
    }

    case config::DataplaneChoice::automatic:
      break;
  }

  std::string why;
  if (!probe.fast_path_possible()) {
    why = unavailable_reason(probe);
  } else {
    try {
      std::unique_ptr<Dataplane> xdp = f.make_xdp();
      remove_nft(f);
      return {std::move(xdp), false, "xdp: the fast path loaded and attached"};
    } catch (const std::exception& e) {
      why = std::string("the fast path failed to start: ") + e.what();
    }
  }
  std::string reason = "nft: fallback, " + why;
  spdlog::warn("dataplane: using nftables: {}", why);  // the one log line of a fallback
  return use_nft(f, std::move(reason), true);
}

}  // namespace portway::dataplane::probe
