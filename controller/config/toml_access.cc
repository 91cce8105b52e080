#include "config/toml_access.h"

#include <algorithm>
#include <cstdio>

#include "config/diagnostic.h"
#include "config/nesting_scan.h"
#include "config/text_input.h"

namespace portway::config {

std::optional<toml::table> parse_toml_text(std::string_view text, const std::string& file,
                                           std::vector<Diagnostic>& errors) {
  if (auto rejected = check_text(text, file)) {
    errors.push_back(*rejected);
    return std::nullopt;
  }
  if (auto too_deep = check_nesting(text, file)) {
    errors.push_back(*too_deep);
    return std::nullopt;
  }
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    errors.push_back({file, b.line ? b.line : 1, b.column ? b.column : 1, "",
                      one_line(e.description())});
    return std::nullopt;
  }
}

Position position_of(const toml::node& node) {
  const auto& b = node.source().begin;
  return {b.line ? b.line : 1, b.column ? b.column : 1};
}

Position position_of(const toml::key& key) {
  const auto& b = key.source().begin;
  return {b.line ? b.line : 1, b.column ? b.column : 1};
}

std::vector<std::pair<const toml::key*, const toml::node*>> entries_in_file_order(
    const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> out;
  out.reserve(table.size());
  for (const auto& [key, node] : table) out.emplace_back(&key, &node);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const Position pa = position_of(*a.first), pb = position_of(*b.first);
    return pa.line != pb.line ? pa.line < pb.line : pa.col < pb.col;
  });
  return out;
}

std::string_view type_phrase(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "nothing";
  }
}

namespace {
bool is_bare_key(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}
}  // namespace

namespace {
void append_escaped(std::string& out, char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7F) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", u);
    out += buf;
  } else {
    out += c;
  }
}
}  // namespace

std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) append_escaped(out, c);
  return out;
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kMaxShown = 64;
  std::string out = "\"";
  std::size_t shown = 0;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    // Cut only at the start of a character, so the message stays valid UTF-8.
    const bool starts_char = (u & 0xC0) != 0x80;
    if (starts_char && shown++ == kMaxShown) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      append_escaped(out, c);
    }
  }
  out += '"';
  return out;
}

std::string join_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  if (is_bare_key(key))
    out += key;
  else
    out += quoted(key);
  return out;
}

}  // namespace portway::config
