// The CLI's exit codes (docs/operations.md), and the CLI's own errors that map onto them (errors/error.h is the base
// every library's errors share).
#pragma once

#include <string>

#include "errors/error.h"

namespace portway::cli {

using portway::ExitCode;
using portway::kExitEnvironment;
using portway::kExitOk;
using portway::kExitRejected;

// An environment problem the user must fix outside the input (unreadable file, no privilege).
class EnvironmentError : public Error {
 public:
  explicit EnvironmentError(const std::string& message) : Error(kExitEnvironment, message) {}
};

// The input was read and refused; the message has already been printed when this is thrown
// with an empty message.
class RejectedError : public Error {
 public:
  explicit RejectedError(const std::string& message) : Error(kExitRejected, message) {}
};

}  // namespace portway::cli
