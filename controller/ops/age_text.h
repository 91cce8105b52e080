// Durations as an operator reads them in `status` and `dump flows`: "850 ms", "3.2 s",
// "4 min 5 s", "2 h 3 min", "3 d 4 h" (two units at most; JSON keeps the exact number).
#pragma once

#include <cstdint>
#include <string>

namespace portway::ops {

std::string duration_text(std::int64_t ms);

// "3.2 s ago", or "never" for a time that was never recorded (then_ms <= 0); a time ahead of
// `now_ms` (another clock) reads "just now".
std::string ago_text(std::int64_t then_ms, std::int64_t now_ms);

}  // namespace portway::ops
