#include "ops/age_text.h"

#include <cstdio>

namespace portway::ops {

std::string duration_text(std::int64_t ms) {
  if (ms < 0) ms = 0;
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ms));
  } else if (ms < 10000) {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  } else {
    const long long s = ms / 1000;
    if (s < 60)
      std::snprintf(buf, sizeof buf, "%lld s", s);
    else if (s < 3600)
      std::snprintf(buf, sizeof buf, "%lld min %lld s", s / 60, s % 60);
    else if (s < 86400)
      std::snprintf(buf, sizeof buf, "%lld h %lld min", s / 3600, s % 3600 / 60);
    else
      std::snprintf(buf, sizeof buf, "%lld d %lld h", s / 86400, s % 86400 / 3600);
  }
  return buf;
}

std::string ago_text(std::int64_t then_ms, std::int64_t now_ms) {
  if (then_ms <= 0) return "never";
  if (then_ms > now_ms) return "just now";
  return duration_text(now_ms - then_ms) + " ago";
}

}  // namespace portway::ops
