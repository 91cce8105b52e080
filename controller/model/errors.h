// How the model says no. Both mean "the input was rejected" (exit 1, docs/cli.md); the store's own
// failures stay store::StoreError (an environment problem). And how it quotes user text.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "errors/error.h"

namespace portway::model {

// For error messages: double-quoted, at most 80 bytes shown, and every byte that is not
// printable ASCII (or is a quote or backslash) as \xNN, so a hostile value cannot smuggle
// control characters into a terminal or a log line.
std::string printable_quoted(std::string_view s);

// The request was refused as a whole and nothing was changed. Every reason is one line a
// user can act on; what() joins them.
class Rejected : public Error {
 public:
  explicit Rejected(std::vector<std::string> reasons);
  explicit Rejected(std::string reason) : Rejected(std::vector<std::string>{std::move(reason)}) {}
  const std::vector<std::string>& reasons() const { return reasons_; }

 private:
  std::vector<std::string> reasons_;
};

// Refused because of what is already stored: a node-port claim or an address held by
// another app or sandbox, an id already registered (the API answers 409).
class Conflict : public Rejected {
 public:
  using Rejected::Rejected;
};

// Refused because what the request names is not stored: no such app, no such sandbox (the
// API answers 404).
class NotFound : public Rejected {
 public:
  using Rejected::Rejected;
};

// No free address left in a service address pool: the request cannot be met (exit 1).
class AllocationError : public Error {
 public:
  explicit AllocationError(const std::string& message) : Error(kExitRejected, message) {}
};

}  // namespace portway::model
