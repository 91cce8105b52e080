// Stable names of the drop reasons (enum pw_drop_reason), for logs, JSON and metrics labels.
#pragma once

#include <cstdint>
#include <string_view>

#include "portway/lb_abi.h"

namespace portway::loader {

// snake_case without the PW_DROP_ prefix, e.g. "ip_bad_ihl"; "unknown" outside the enum.
[[nodiscard]] std::string_view drop_reason_name(std::uint32_t reason) noexcept;

}  // namespace portway::loader
