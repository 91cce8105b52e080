#include "dataplane/probe/choose.h"

#include <spdlog/spdlog.h>

#include "dataplane/newer_layout.h"

namespace portway::dataplane::probe {
namespace {

DataplaneChoiceResult use_nft(const DataplaneFactories& f, std::string reason, bool fell_back) {
  std::unique_ptr<Dataplane> nft = f.make_nft();
  // The fast path must not stay attached next to the table (never both).
  f.remove_xdp();
  return {std::move(nft), fell_back, std::move(reason)};
}

[[noreturn]] void keep_running_fast_path(const std::string& why) {
  throw DataplaneUnavailable("the running fast path was kept: " + why +
                             "; it keeps forwarding with what it had (use --dataplane nft to switch to "
                             "nftables on purpose)");
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
      f.remove_nft();
      return {std::move(xdp), false, "xdp: chosen by the dataplane setting"};
    }

    case config::DataplaneChoice::automatic:
      break;
  }

  const bool running = f.xdp_running && f.xdp_running();
  std::string why;
  if (!probe.fast_path_possible()) {
    why = unavailable_reason(probe);
    if (running) keep_running_fast_path("the probe says " + why);
  } else {
    try {
      std::unique_ptr<Dataplane> xdp = f.make_xdp();
      f.remove_nft();
      return {std::move(xdp), false, "xdp: the fast path loaded and attached"};
    } catch (const NewerLayout&) {
      throw;  // a newer build's fast path: falling back would remove it
    } catch (const std::exception& e) {
      if (running) keep_running_fast_path(std::string("refreshing it failed: ") + e.what());
      why = std::string("the fast path failed to start: ") + e.what();
    }
  }
  std::string reason = "nft: fallback, " + why;
  spdlog::warn("dataplane: using nftables: {}", why);  // the one log line of a fallback
  return use_nft(f, std::move(reason), true);
}

}  // namespace portway::dataplane::probe
