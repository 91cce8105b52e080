#include "cli/args.h"

#include <algorithm>

namespace portway::cli {

bool ParsedArgs::has(std::string_view flag) const { return flags_.find(flag) != flags_.end(); }

std::optional<std::string> ParsedArgs::value(std::string_view flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

const std::vector<std::string>& ParsedArgs::values(std::string_view flag) const {
  static const std::vector<std::string> kNone;
  auto it = flags_.find(flag);
  return it == flags_.end() ? kNone : it->second;
}

ParsedArgs parse_args(std::span<const std::string> args, std::span<const FlagSpec> specs) {
  ParsedArgs out;
  bool flags_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg == "-" || !arg.starts_with("-")) {
      out.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (!arg.starts_with("--")) throw UsageError("unknown flag " + arg + " (flags are --long)");
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) throw UsageError("unknown flag --" + name);
    auto& slot = out.flags_[name];
    if (!slot.empty() && !spec->repeatable) throw UsageError("--" + name + " given twice");
    if (!spec->takes_value) {
      if (inline_value) throw UsageError("--" + name + " takes no value");
      slot.emplace_back();
      continue;
    }
    if (inline_value) {
      slot.push_back(*inline_value);
    } else if (i + 1 < args.size()) {
      slot.push_back(args[++i]);
    } else {
      throw UsageError("--" + name + " needs a value");
    }
  }
  return out;
}

std::string describe_flags(std::span<const FlagSpec> specs) {
  std::string out;
  for (const FlagSpec& s : specs) {
    std::string left = "  --" + s.name + (s.takes_value ? " VALUE" : "");
    if (left.size() < 24) left.resize(24, ' ');
    out += left + " " + s.help + "\n";
  }
  return out;
}

}  // namespace portway::cli
