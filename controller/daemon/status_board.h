// Where the daemon's loop publishes its DaemonStatus for readers on other threads (the API,
// the metrics endpoint): the loop publishes a whole new value after every step, readers copy
// it out; neither waits on the other for longer than a copy.
#pragma once

#include <mutex>

#include "daemon/daemon_status.h"

namespace portway::daemon {

class StatusBoard {
 public:
  void publish(const DaemonStatus& s) {
    std::lock_guard lock(mutex_);
    status_ = s;
  }
  DaemonStatus snapshot() const {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  mutable std::mutex mutex_;
  DaemonStatus status_;
};

}  // namespace portway::daemon
