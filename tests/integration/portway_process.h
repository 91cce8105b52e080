// Runs the real `portway` binary as a child process for the store's fault tests: in a network
// namespace the test made (or a fresh one of its own), optionally with /var/lib hidden behind
// a private tmpfs so the default state path is absent without touching the node's own, with
// its output captured and a time bound. Safe to call from many threads at once (fork then
// only async-signal-safe calls before exec).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace portway::itest {

struct PortwayRun {
  std::vector<std::string> args;  // after the binary's name
  std::vector<std::string> env;   // the whole environment, "NAME=value"
  int netns_fd = -1;              // >= 0: run in that network namespace
  bool fresh_netns = false;       // run in a new, empty network namespace of its own
  bool hide_var_lib = false;      // a private mount namespace with an empty tmpfs on /var/lib
  std::chrono::milliseconds timeout{60000};  // then SIGKILL
};

struct PortwayResult {
  int exit_code = -1;   // -1 when it did not exit normally
  int signal = 0;       // the signal that ended it, 0 when it exited
  bool timed_out = false;
  std::string out, err;
  std::chrono::milliseconds took{0};
  bool ok() const { return exit_code == 0; }
  std::string describe() const;  // "exit 2: <stderr>" / "killed by signal 7" / "timed out"
};

PortwayResult run_portway(const std::string& binary, const PortwayRun& run);

// A network namespace for the test's lifetime, created on a helper thread so the test's own
// threads stay where they are. It disappears (with the nft table in it) when the fd closes.
class OwnNetns {
 public:
  OwnNetns();
  ~OwnNetns();
  OwnNetns(const OwnNetns&) = delete;
  OwnNetns& operator=(const OwnNetns&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace portway::itest
