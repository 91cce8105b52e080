// Runs a function in a forked child inside a fresh network namespace (and, without root, a
// fresh user namespace that grants CAP_NET_ADMIN there), so nft unit tests can ask the real
// libnftables/kernel pair to check or even commit rulesets without privileges and without
// ever seeing the host's ruleset.
#pragma once

#include <functional>
#include <string>

namespace portway::dataplane::nft::testing {

struct ChildResult {
  bool ok = false;      // the function returned without throwing
  bool skipped = false; // no namespace could be made (user namespaces disabled): not a failure
  std::string output;   // what it returned, or the exception's message
};

// `fn` runs in the child; its return value (or exception text) comes back through a pipe.
ChildResult in_private_netns(const std::function<std::string()>& fn);

// libnftables checks `text` against the kernel in a private namespace without committing it
// (what `nft --check -f` does).
ChildResult nft_dry_run(const std::string& text);

}  // namespace portway::dataplane::nft::testing
