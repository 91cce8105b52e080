#include "ops/active_dataplane.h"

#include "agent/sync.h"
#include "dataplane/xdp/xdp_dataplane.h"

namespace portway::ops {

ActiveDataplane find_active_dataplane(const std::string& state_path, const config::NodeSettings& settings) {
  ActiveDataplane out;
  const std::string path = dataplane::sync_status_path(state_path);
  try {
    out.last_sync = dataplane::load_sync_status(path);
  } catch (const std::exception&) {
    out.last_sync.reset();  // an unreadable record is treated as none; the kernel decides
  }
  const std::string recorded = out.last_sync ? out.last_sync->dataplane : "";
  if (dataplane::xdp::XdpDataplane(settings).is_installed()) {
    out.kind = dataplane::Kind::xdp;
    out.dataplane = agent::make_dataplane(*out.kind, settings);
  } else {
    try {
      auto nft = agent::make_dataplane(dataplane::Kind::nft, settings);
      if (nft->is_installed()) {
        out.kind = dataplane::Kind::nft;
        out.dataplane = std::move(nft);
      }
    } catch (const std::exception& e) {
      // Without CAP_NET_ADMIN the table cannot be listed. When the last sync installed nft
      // that is the answer the user needs (the error says which capability); otherwise
      // nothing says nftables is in use, and the status shows what was found.
      if (recorded == "nft") throw;
      out.kernel_note = std::string("the nft table could not be checked: ") + e.what();
      return out;
    }
  }
  if (out.kind && recorded != "" && recorded != dataplane::to_string(*out.kind))
    out.kernel_note = "the last sync recorded " + recorded + ", but the kernel holds " +
                      std::string(dataplane::to_string(*out.kind));
  else if (!out.kind && recorded == "nft")
    out.kernel_note = "the last sync installed nft, but table inet portway does not exist in this network namespace";
  else if (!out.kind && recorded == "xdp")
    out.kernel_note = "the last sync installed xdp, but nothing is pinned under " + settings.bpffs_dir;
  return out;
}

}  // namespace portway::ops
