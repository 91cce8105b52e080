// One validation error, compiler-style: FILE:LINE:COL: PATH: MESSAGE (docs/config.md "Errors").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace portway::config {

struct Diagnostic {
  std::string file;
  std::uint32_t line = 1;
  std::uint32_t col = 1;
  std::string path;     // e.g. services.irc.ports[1].node_port; empty for file-level errors
  std::string message;

  bool operator==(const Diagnostic&) const = default;
};

// "FILE:LINE:COL: PATH: MESSAGE", or without "PATH: " when the path is empty.
std::string to_string(const Diagnostic& d);

// File order (line, col), ties broken by path then message, so output is deterministic
// whatever order the checks ran in.
void sort_diagnostics(std::vector<Diagnostic>& diags);

}  // namespace portway::config
