#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>

#include <cstring>

namespace portway::daemon {

void SystemdNotifier::send(const std::string& text) {
  // unset_environment = 0: a restart of the loop in the same process still reports.
  const int r = sd_notify(0, text.c_str());
  if (r < 0) spdlog::warn("sd_notify failed: {}", std::strerror(-r));
}

void SystemdNotifier::ready(const std::string& status) {
  if (ready_sent_) return this->status(status);
  ready_sent_ = true;
  last_status_ = status;
  send("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::status(const std::string& status) {
  if (status == last_status_) return;
  last_status_ = status;
  send("STATUS=" + status);
}

void SystemdNotifier::stopping() { send("STOPPING=1"); }

}  // namespace portway::daemon
