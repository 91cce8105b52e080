// A child process started inside a named network namespace (the sandboxes' test app, the
// lab's daemon), owned RAII-style: destroying the object stops the process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace portway::lab {

class NsProcess {
 public:
  // argv[0] is the program path. stdout/stderr go to `log_path` (appended), or /dev/null.
  // Throws std::system_error when the namespace cannot be opened or fork fails; a failing
  // exec shows as the child exiting with status 127.
  static NsProcess spawn(const std::string& netns, const std::vector<std::string>& argv,
                         const std::string& log_path = "");

  NsProcess(NsProcess&& other) noexcept;
  NsProcess& operator=(NsProcess&& other) noexcept;
  NsProcess(const NsProcess&) = delete;
  NsProcess& operator=(const NsProcess&) = delete;
  ~NsProcess();

  pid_t pid() const { return pid_; }
  // Gives up ownership: the process keeps running after this object is gone (the lab's apps
  // outlive `lab up`; `lab down` stops them by their recorded pids).
  pid_t release() {
    const pid_t p = pid_;
    pid_ = -1;
    return p;
  }
  bool running();
  // Waits for the process to exit: its exit status (128 + signal when killed), or nullopt
  // when it is still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGKILL, no grace (a crash in the middle of whatever it was doing); reaps.
  void kill_hard();
  // SIGTERM, then SIGKILL after `grace_ms`; reaps. Idempotent.
  void stop(int grace_ms = 1000);

 private:
  explicit NsProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

}  // namespace portway::lab
