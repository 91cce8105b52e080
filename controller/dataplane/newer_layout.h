// Pins of a pinned layout newer than this build's (docs/xdp-dataplane.md, "Pinned layout and
// upgrades"): an older build would misread the maps. Nothing is changed, and no fallback is
// taken either (switching to nftables would remove the fast path the newer build runs).
#pragma once

#include <string>

#include "errors/error.h"

namespace portway::dataplane {

class NewerLayout : public Error {
 public:
  explicit NewerLayout(const std::string& message) : Error(kExitEnvironment, message) {}
};

}  // namespace portway::dataplane
