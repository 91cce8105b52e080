// When a store change's clock starts (the value the daemon reports as last_change_seconds and
// observes in portway_sync_seconds): at the loop's wake for it, a commit marker's wake taking
// precedence over a -wal write's (the -wal write comes before the writer's fsync: the
// writer's cost, not the daemon's). A read that finds nothing new ends whatever the wakes
// before it started: the commit it was waiting for came after that read, so the next change
// is timed from its own wake, or, when a re-read finds it without one, from that read (the
// last moment it was known not to be committed). Without this, a wake that found nothing (a
// checkpoint, a reader) would start the clock of the next commit, which could come any time
// later (docs/daemon.md "Noticing store changes").
#pragma once

#include <chrono>
#include <optional>

#include "daemon/store_watch.h"

namespace portway::daemon {

class ChangeClock {
 public:
  using Clock = std::chrono::steady_clock;

  void woke(StoreWatch::Change change, Clock::time_point at);
  // A read begun at `read_at` found nothing new.
  void found_nothing_new(Clock::time_point read_at);
  // A new generation is programmed at `done`: how long since its clock started, if it did;
  // the clock is then reset for the next change.
  std::optional<std::chrono::duration<double>> programmed(Clock::time_point done);
  // Nothing to time (a full programming, a retry): forget the wakes so far.
  void reset();
  // The wakes since the last read include a commit marker's: its commit is visible.
  bool committed() const { return committed_; }

 private:
  std::optional<Clock::time_point> woke_;   // the wake this change is timed from
  std::optional<Clock::time_point> empty_;  // the last read that found nothing, since a change
  bool committed_ = false;
};

}  // namespace portway::daemon
