// Test helper: nft text with its comment clauses taken out, to show that comments change
// nothing else. Header-only so the libFuzzer tree (tests/fuzz) can use it too.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace portway::dataplane::nft::testing {

// Removes every ` comment "..."` (and the `;` that follows a chain's) outside other quoted
// strings, appending each comment's text to `comments`. Quoted strings are read as nft's
// scanner reads them: from a '"' to the next '"', nothing escaped. Throws std::runtime_error on
// an unterminated string, so a comment that swallowed a quote cannot go unnoticed.
inline std::string strip_comments(std::string_view text, std::vector<std::string>& comments) {
  constexpr std::string_view kOpen = " comment \"";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text.substr(i, kOpen.size()) == kOpen) {
      const std::size_t begin = i + kOpen.size();
      const std::size_t end = text.find('"', begin);
      if (end == std::string_view::npos) throw std::runtime_error("unterminated comment");
      comments.emplace_back(text.substr(begin, end - begin));
      i = end + 1;
      if (i < text.size() && text[i] == ';') ++i;
      continue;
    }
    if (text[i] == '"') {
      const std::size_t end = text.find('"', i + 1);
      if (end == std::string_view::npos) throw std::runtime_error("unterminated string");
      out.append(text.substr(i, end + 1 - i));
      i = end + 1;
      continue;
    }
    out.push_back(text[i++]);
  }
  return out;
}

}  // namespace portway::dataplane::nft::testing
