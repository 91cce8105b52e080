#include "loader/lb_events.h"

#include <array>

namespace portway::loader {
namespace {

// Indexed by the enum value; the size check makes a new event without a name a build error.
constexpr std::array<std::string_view, PW_EVENTS> kNames{
    "xdp_redirect",
    "xdp_tc_handoff",
    "xdp_stack",
    "tc_handoff_delivered",
    "l2_other_host",
    "l2_multicast",
    "l2_unknown_uplink",
    "flow_inserts",
    "flow_deletes",
    "flow_controller_deletes",
    "flow_baseline",
    "flow_stale_frontend",
    "ip6_unknown_ext",
    "flow6_inserts",
    "flow6_deletes",
    "flow6_controller_deletes",
    "flow6_baseline",
    "flow_conn_taken",
    "flow6_conn_taken",
    "tc_stack_forward",
};
static_assert(kNames.size() == PW_EVENTS);
static_assert(PW_EV_TC_STACK_FORWARD + 1 == PW_EVENTS, "name the new event in kNames");

}  // namespace

std::string_view event_name(std::uint32_t event) noexcept {
  return event < kNames.size() ? kNames[event] : std::string_view{"unknown"};
}

}  // namespace portway::loader
