// Which keys each level of app.toml may carry, and the "did you mean" hint for the rest.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace portway::config {

enum class KeyLevel { app, service, port };

enum class KeyKind {
  interpreted,  // portway reads it
  preserved,    // a Miren key: accepted, kept, not interpreted
  unknown,      // an error
};

KeyKind classify_key(KeyLevel level, std::string_view key);

// The closest known key of that level, for the error message; nullopt if none is close.
std::optional<std::string_view> suggest_key(KeyLevel level, std::string_view key);

// Edit distance with adjacent transpositions (optimal string alignment), all costs 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace portway::config
