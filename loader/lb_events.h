// Names of the fast path's events (enum pw_event, include/portway/lb_abi.h) for status,
// stats and test messages.
#pragma once

#include <cstdint>
#include <string_view>

#include "portway/lb_abi.h"

namespace portway::loader {

// "xdp_redirect", "tc_handoff", ...; "unknown" beyond the enum.
[[nodiscard]] std::string_view event_name(std::uint32_t event) noexcept;

}  // namespace portway::loader
