// The one base of every error portway reports to a user, carrying the exit code it maps to
// (docs/operations.md "Exit codes"): 1 when the input was read and refused, 2 for a usage or
// environment problem. Libraries throw subclasses; the CLI's main turns any of them into one
// message and that code, and anything else into a message and exit 2 (never an abort).
#pragma once

#include <stdexcept>
#include <string>

namespace portway {

enum ExitCode : int {
  kExitOk = 0,
  kExitRejected = 1,     // the input was rejected (validation, conflict)
  kExitEnvironment = 2,  // usage or environment error (bad flag, privilege, unreadable file)
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode exit_code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

}  // namespace portway
