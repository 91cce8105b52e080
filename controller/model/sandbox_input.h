// Checking what a runtime registers as a sandbox (`portway sandbox add`) before any of it is
// stored: every field, every error at once, in words a user can act on. Interface names and
// ids end up in dataplane objects and logs, so they are held to small, safe alphabets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.h"

namespace portway::model {

struct SandboxInput {
  std::optional<std::string> id;  // nullopt: the caller generates one
  std::string app;
  std::string service;
  std::optional<std::string> ipv4;  // at least one of the two
  std::optional<std::string> ipv6;
  std::string iface;  // empty: none
  std::vector<std::string> labels;  // "KEY=VALUE"
};

struct SandboxValidation {
  std::optional<store::SandboxRecord> record;  // set iff errors is empty; state running
  std::vector<std::string> errors;
};

SandboxValidation validate_sandbox(const SandboxInput& in, std::int64_t now_ms);

// [A-Za-z0-9][A-Za-z0-9._:-]{0,127}
bool is_sandbox_id(std::string_view s);
inline constexpr std::string_view kSandboxIdRule =
    "1-128 characters: letters, digits, '.', '_', ':' and '-', starting with a letter or digit";

// What Linux accepts (1-15 bytes, not "." or "..", no '/', ':' or whitespace) narrowed to
// letters, digits, '.', '_' and '-', so a name is always safe to print and to quote.
bool is_iface_name(std::string_view s);
inline constexpr std::string_view kIfaceRule =
    "1-15 characters: letters, digits, '.', '_' and '-' (not \".\" or \"..\")";

// Kubernetes label syntax: KEY=VALUE, KEY = [DNS-subdomain prefix '/'] name, name and value
// [A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])? of at most 63 (value may be empty).
// nullopt when valid, else why not.
std::optional<std::string> label_error(std::string_view key_value);

// A sandbox address must be a unicast address a packet can be DNATed to.
std::optional<std::string> ipv4_sandbox_error(std::string_view text);
std::optional<std::string> ipv6_sandbox_error(std::string_view text);

}  // namespace portway::model
