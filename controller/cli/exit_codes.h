// cli.md's exit codes, and the errors that map onto them.
#pragma once

#include <stdexcept>

namespace portway::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitRejected = 1,     // the input was rejected (validation, conflict)
  kExitEnvironment = 2,  // usage or environment error (bad flag, privilege, unreadable file)
};

// An environment problem the user must fix outside the input (unreadable file, no privilege).
class EnvironmentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The input was read and refused; the message has already been printed when this is thrown
// with an empty message.
class RejectedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace portway::cli
