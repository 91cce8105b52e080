// Runs a command line through the shell and returns its exit status and stdout (stderr goes
// to the test's log). For the tests that drive the real binaries (CLI, rig, bench tools).
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <sys/wait.h>

namespace portway::test {

struct CommandResult {
  int status = -1;
  std::string out;
};

// Starts the command; finish() waits for it and collects its output.
class RunningCommand {
 public:
  explicit RunningCommand(const std::string& command) : pipe_(popen(command.c_str(), "r")) {}
  ~RunningCommand() {
    if (pipe_ != nullptr) pclose(pipe_);
  }
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;
  RunningCommand(RunningCommand&& other) noexcept : pipe_(std::exchange(other.pipe_, nullptr)) {}
  RunningCommand& operator=(RunningCommand&&) = delete;

  CommandResult finish() {
    CommandResult r;
    if (pipe_ == nullptr) return r;
    char buf[4096];
    std::size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, pipe_)) > 0) r.out.append(buf, n);
    const int status = pclose(pipe_);
    pipe_ = nullptr;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

 private:
  FILE* pipe_;
};

inline CommandResult run_command(const std::string& command) { return RunningCommand(command).finish(); }

}  // namespace portway::test
