// Routes libbpf's own messages (including verifier logs on a failed load) into spdlog.
#pragma once

namespace portway::loader {

// Installs the libbpf print callback once per process; later calls do nothing. Messages go to
// spdlog's default logger as it is when each message is printed, at the matching level
// (LIBBPF_DEBUG -> debug, LIBBPF_INFO -> info, LIBBPF_WARN -> warn). libbpf's text already
// starts with "libbpf: ".
void route_libbpf_logs_to_spdlog();

}  // namespace portway::loader
