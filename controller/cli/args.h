// A small, strict command-line parser: declared flags only, `--flag value` or `--flag=value`,
// repeatable flags, `--` ends flags. Anything else is a usage error (exit 2, cli.md).
#pragma once

#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "errors/error.h"

namespace portway::cli {

// A flag or argument the command does not take (exit 2, with a pointer to --help).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(kExitEnvironment, message) {}
};

struct FlagSpec {
  std::string name;        // without the leading "--"
  bool takes_value = false;
  bool repeatable = false;
  std::string help;
};

class ParsedArgs {
 public:
  bool has(std::string_view flag) const;
  std::optional<std::string> value(std::string_view flag) const;  // last occurrence
  const std::vector<std::string>& values(std::string_view flag) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend ParsedArgs parse_args(std::span<const std::string>, std::span<const FlagSpec>);
  std::map<std::string, std::vector<std::string>, std::less<>> flags_;
  std::vector<std::string> positional_;
};

// Throws UsageError naming the offending argument.
ParsedArgs parse_args(std::span<const std::string> args, std::span<const FlagSpec> specs);

std::string describe_flags(std::span<const FlagSpec> specs);

}  // namespace portway::cli
