// libnftables, owned: one context bound to the network namespace that was current when it was
// created (the product never runs the `nft` program). run() sends one buffer of commands as
// one transaction; errors come back as an exception carrying libnftables' own message.
#pragma once

#include <stdexcept>
#include <string>

#include "errors/error.h"

struct nft_ctx;

namespace portway::dataplane::nft {

class NftError : public Error {
 public:
  explicit NftError(const std::string& message) : Error(kExitEnvironment, message) {}
};

class NftContext {
 public:
  // dry_run: commands are parsed, evaluated and checked against the kernel's current ruleset
  // but never committed (what `nft --check` does).
  explicit NftContext(bool dry_run = false);
  ~NftContext();
  NftContext(const NftContext&) = delete;
  NftContext& operator=(const NftContext&) = delete;

  // Runs `commands` (newline-separated nft syntax) as one batch; throws NftError.
  void run(const std::string& commands);

  // Runs a `list ...` command and returns its JSON output; throws NftError.
  std::string list_json(const std::string& command);

 private:
  nft_ctx* ctx_;
};

}  // namespace portway::dataplane::nft
