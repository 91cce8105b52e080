#include "loader/lb_drop_reasons.h"

#include <array>

namespace portway::loader {
namespace {

// Indexed by the enum value; the size check makes a new reason without a name a build error.
constexpr std::array<std::string_view, PW_DROP_REASONS> kNames{
    "none",
    "ip_truncated",
    "ip_bad_ihl",
    "ip_bad_totlen",
    "l4_truncated",
    "tcp_bad_doff",
    "port_zero",
    "fragment_unknown",
    "ttl_expired",
    "icmp_truncated",
    "no_backend",
    "undeclared_port",
    "backend_gone",
    "map_full",
    "oversize",
    "ip_bad_version",
    "udp_bad_len",
    "no_hairpin_addr",
    "internal",
    "ip6_truncated",
    "ip6_bad_payload_len",
    "ip6_ext_chain",
    "udp6_zero_checksum",
};
static_assert(kNames.size() == PW_DROP_REASONS);
static_assert(PW_DROP_UDP6_ZERO_CHECKSUM + 1 == PW_DROP_REASONS, "name the new reason in kNames");

}  // namespace

std::string_view drop_reason_name(std::uint32_t reason) noexcept {
  return reason < kNames.size() ? kNames[reason] : std::string_view{"unknown"};
}

}  // namespace portway::loader
