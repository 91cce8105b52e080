// A bound on how deeply a TOML document nests, checked before toml++ sees it (docs/config.md
// "Files"). toml++ builds and destroys tables recursively and only bounds arrays and inline
// tables (at 256), so a dotted key or table header with tens of thousands of segments overflows
// the stack. The scan is a small lexer: it skips strings and comments and counts the levels a
// parser would create (header segments + dotted-key segments + open arrays and inline tables).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostic.h"

namespace portway::config {

// No portway config comes near this: the deepest valid app.toml key is a handful of levels.
inline constexpr std::size_t kMaxTomlNesting = 64;

// The first place where the nesting exceeds `limit`, as a diagnostic at its line and column
// (columns in characters, like toml++'s), or nullopt. Linear time, constant stack; never
// rejects a document nested `limit` deep or less, valid or not (syntax errors are toml++'s).
std::optional<Diagnostic> check_nesting(std::string_view text, const std::string& file,
                                        std::size_t limit = kMaxTomlNesting);

}  // namespace portway::config
