// app.toml -> validated, resolved App (docs/config.md "Validation rules"): every rule V1-V12, every
// error at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/app_model.h"
#include "config/diagnostic.h"

namespace portway::config {

struct ValidationOptions {
  // V9: node ports an app may not claim (node setting reserved_node_ports).
  std::vector<std::uint16_t> reserved_node_ports{22, 80, 443, 8443};
};

struct ParseOutcome {
  std::optional<App> app;          // set iff errors is empty
  std::vector<Diagnostic> errors;  // sorted by position; deterministic
  bool ok() const { return errors.empty(); }
};

// `file` serves only to label diagnostics. Never throws on bad input.
ParseOutcome parse_app(std::string_view text, const std::string& file,
                       const ValidationOptions& options = {});

}  // namespace portway::config
