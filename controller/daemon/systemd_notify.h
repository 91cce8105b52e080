// systemd's readiness protocol (sd_notify(3)): READY=1 once the first programming succeeded,
// STATUS= lines after. Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.
#pragma once

#include <string>

namespace portway::daemon {

class SystemdNotifier {
 public:
  void ready(const std::string& status);
  void status(const std::string& status);  // sent only when it differs from the last one
  void stopping();

 private:
  void send(const std::string& text);
  bool ready_sent_ = false;
  std::string last_status_;
};

}  // namespace portway::daemon
