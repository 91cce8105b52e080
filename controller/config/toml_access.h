// Small helpers over toml++ used by the config parsers: file-order iteration, positions,
// type names for messages, and key paths printed the way TOML would spell them.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portway::config {

struct Diagnostic;

// V12 for any config text: size, UTF-8, then TOML syntax. On failure, appends the one error
// (with the parser's position) and returns nullopt; never throws on bad input.
std::optional<toml::table> parse_toml_text(std::string_view text, const std::string& file,
                                           std::vector<Diagnostic>& errors);

struct Position {
  std::uint32_t line = 1;
  std::uint32_t col = 1;
};

Position position_of(const toml::node& node);
Position position_of(const toml::key& key);

// toml::table iterates in key order; diagnostics and "first port" semantics need file order.
std::vector<std::pair<const toml::key*, const toml::node*>> entries_in_file_order(
    const toml::table& table);

// "a string", "an integer", ... for "must be X (got Y)" messages.
std::string_view type_phrase(const toml::node& node);

// Appends ".key" to a path, quoting the key when it is not a bare TOML key, so a hostile
// service name cannot make a path that reads like another one.
std::string join_path(std::string_view parent, std::string_view key);

// A user string quoted for a message: escapes quotes, backslashes and control bytes, and
// cuts very long strings, so error output stays one line per error.
std::string quoted(std::string_view s);

// Control bytes (toml++ echoes the offending character, newline included) escaped, so every
// diagnostic stays one line.
std::string one_line(std::string_view s);

}  // namespace portway::config
