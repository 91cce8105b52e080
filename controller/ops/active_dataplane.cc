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
  if (dataplane::xdp::XdpDataplane(settings).is_installed())
    out.kind = dataplane::Kind::xdp;
  else if (out.last_sync && out.last_sync->dataplane == "nft")
    out.kind = dataplane::Kind::nft;
  if (out.kind) out.dataplane = agent::make_dataplane(*out.kind, settings);
  return out;
}

}  // namespace portway::ops
