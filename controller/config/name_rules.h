// V11: the names that end up in Service ids, IP-allocation keys and dataplane object names.
#pragma once

#include <string_view>

namespace portway::config {

// RFC 1123 label: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?  (app and service names)
bool is_dns_label(std::string_view s);
inline constexpr std::string_view kDnsLabelRule =
    "lowercase letters, digits and '-', 1-63 characters, starting and ending with a letter or "
    "digit";

// Port names follow Kubernetes' IANA_SVC_NAME length: [a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?
bool is_port_name(std::string_view s);
inline constexpr std::string_view kPortNameRule =
    "lowercase letters, digits and '-', 1-15 characters, starting and ending with a letter or "
    "digit";

}  // namespace portway::config
