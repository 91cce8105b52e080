#include "daemon/change_clock.h"

namespace portway::daemon {

void ChangeClock::woke(StoreWatch::Change change, Clock::time_point at) {
  if (change == StoreWatch::Change::kNone) return;
  const bool marker = change == StoreWatch::Change::kCommitted;
  if (!woke_ || (marker && !committed_)) woke_ = at;
  committed_ = committed_ || marker;
}

void ChangeClock::found_nothing_new(Clock::time_point read_at) {
  woke_.reset();
  committed_ = false;
  empty_ = read_at;
}

std::optional<std::chrono::duration<double>> ChangeClock::programmed(Clock::time_point done) {
  const std::optional<Clock::time_point> start = woke_ ? woke_ : empty_;
  reset();
  if (!start) return std::nullopt;
  return std::chrono::duration<double>(done - *start);
}

void ChangeClock::reset() {
  woke_.reset();
  empty_.reset();
  committed_ = false;
}

}  // namespace portway::daemon
