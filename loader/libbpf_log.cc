#include "loader/libbpf_log.h"

#include <array>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

namespace portway::loader {
namespace {

spdlog::level::level_enum to_spdlog(libbpf_print_level level) {
  switch (level) {
    case LIBBPF_WARN:
      return spdlog::level::warn;
    case LIBBPF_INFO:
      return spdlog::level::info;
    case LIBBPF_DEBUG:
      return spdlog::level::debug;
  }
  return spdlog::level::warn;
}

// Must format the varargs itself: libbpf hands over a printf format and a va_list.
int print_to_spdlog(libbpf_print_level level, const char* format, va_list args) {
  auto spd_level = to_spdlog(level);
  // libbpf echoes the kernel's extack of every failed netlink request at warn level, also the
  // expected ones (a tc query on an interface without clsact: "Parent Qdisc doesn't
  // exists"). The callers turn real failures into errors carrying the errno and the step.
  if (std::string_view{format}.starts_with("libbpf: Kernel error message")) spd_level = spdlog::level::debug;
  auto* logger = spdlog::default_logger_raw();
  // libbpf prints a lot at debug level; skip the formatting when nobody would see it.
  if (logger == nullptr || !logger->should_log(spd_level)) {
    return 0;
  }

  std::array<char, 512> small{};
  va_list again;
  va_copy(again, args);
  const int needed = std::vsnprintf(small.data(), small.size(), format, args);
  std::string text;
  if (needed < 0) {
    text = format;
  } else if (static_cast<std::size_t>(needed) < small.size()) {
    text.assign(small.data(), static_cast<std::size_t>(needed));
  } else {
    // Verifier logs on a rejected load are printed in one call and run to kilobytes.
    text.resize(static_cast<std::size_t>(needed) + 1);
    std::vsnprintf(text.data(), text.size(), format, again);
    text.resize(static_cast<std::size_t>(needed));
  }
  va_end(again);

  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  // No prefix of our own: libbpf starts its messages with "libbpf: " already.
  logger->log(spd_level, "{}", text);
  return needed < 0 ? 0 : needed;
}

}  // namespace

void route_libbpf_logs_to_spdlog() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(print_to_spdlog); });
}

}  // namespace portway::loader
