#include "doc_citations.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

namespace portway::repo_check {
namespace fs = std::filesystem;

namespace {

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/';
}

int line_of(std::string_view text, std::size_t pos) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

// Lower case, without Markdown's code marks: a heading "`--version`" is cited as "--version".
std::string normalized(std::string_view s) {
  std::string out;
  for (const char c : s)
    if (c != '`') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Past a line break inside a comment: the indentation and the comment leader of the next line.
std::size_t skip_comment_leader(std::string_view text, std::size_t i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (text.substr(i, 2) == "//") i += 2;
  else if (i < text.size() && (text[i] == '*' || text[i] == '#')) ++i;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  return i;
}

// The quoted section after a citation: `NAME.md "Section"`, `NAME.md, "Section"`,
// `NAME.md ("Section")`, also across a comment's line break. A quote right after the name is
// the end of a string literal, not a section.
std::optional<std::string> section_after(std::string_view text, std::size_t i) {
  bool separated = false;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == ',' || c == '(') {
      ++i;
      separated = true;
    } else if (c == '\n') {
      i = skip_comment_leader(text, i + 1);
      separated = true;
    } else {
      break;
    }
  }
  if (!separated || i >= text.size() || text[i] != '"') return std::nullopt;
  std::string section;
  for (++i; i < text.size() && text[i] != '"'; ++i) {
    if (section.size() > 200) return std::nullopt;
    if (text[i] == '\n') {
      i = skip_comment_leader(text, i + 1) - 1;
      section += ' ';
    } else {
      section += text[i];
    }
  }
  if (i >= text.size() || section.empty()) return std::nullopt;
  return section;
}

const std::vector<std::string>& headings_of(const fs::path& doc) {
  static std::map<std::string, std::vector<std::string>> cache;
  auto [it, inserted] = cache.try_emplace(doc.string());
  if (inserted) it->second = markdown_headings(read_file(doc));
  return it->second;
}

}  // namespace

std::string to_string(const Finding& f) { return f.file + ":" + std::to_string(f.line) + ": " + f.message; }

std::vector<std::string> markdown_headings(std::string_view text) {
  std::vector<std::string> out;
  bool fenced = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (line.starts_with("```")) fenced = !fenced;
    else if (!fenced && line.starts_with("#")) {
      std::size_t i = line.find_first_not_of('#');
      if (i != std::string_view::npos && line[i] == ' ') out.emplace_back(line.substr(i + 1));
    }
    start = end + 1;
  }
  return out;
}

std::vector<Finding> check_citations(const fs::path& root, const std::string& file, std::string_view text) {
  std::vector<Finding> out;
  for (std::size_t at = text.find("../shared"); at != std::string_view::npos; at = text.find("../shared", at + 1))
    out.push_back({file, line_of(text, at), "refers to a folder outside the repository (../shared): put the fact in docs/"});

  const bool in_docs = file.starts_with("docs/");
  const fs::path here = fs::path(file).parent_path();
  for (std::size_t at = text.find(".md"); at != std::string_view::npos; at = text.find(".md", at + 1)) {
    const std::size_t end = at + 3;
    if (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) continue;
    std::size_t start = at;
    while (start > 0 && token_char(text[start - 1])) --start;
    std::string token(text.substr(start, end - start));
    if (token.starts_with("//") || (start >= 1 && text[start - 1] == ':')) continue;  // a URL
    while (token.starts_with("./")) token.erase(0, 2);
    const std::string name = fs::path(token).filename().string();
    if (name == ".md" || name.empty()) continue;  // "*.md", an extension named in prose

    std::vector<fs::path> candidates;
    if (token.find('/') == std::string::npos && in_docs) candidates = {fs::path("docs") / token};
    else candidates = {fs::path(token), here / token};
    std::optional<fs::path> found;
    for (const auto& c : candidates)
      if (fs::is_regular_file(root / c)) {
        found = c;
        break;
      }
    if (!found) {
      const bool bare = token.find('/') == std::string::npos;
      out.push_back({file, line_of(text, start),
                     "cites " + token + ", which the repository does not hold" +
                         (bare ? " (cite docs/" + token + " and put the fact there)" : "")});
      continue;
    }
    if (const auto section = section_after(text, end)) {
      const std::string wanted = normalized(*section);
      const auto& headings = headings_of(root / *found);
      const bool known = std::any_of(headings.begin(), headings.end(),
                                     [&](const std::string& h) { return normalized(h).starts_with(wanted); });
      if (!known)
        out.push_back({file, line_of(text, start),
                       "cites section \"" + *section + "\" of " + found->string() + ", which has no such heading"});
    }
  }
  return out;
}

std::vector<Finding> check_history(const std::string& file, std::string_view text) {
  static const std::vector<std::pair<std::regex, std::string>> phrases = [] {
    const auto flags = std::regex::ECMAScript | std::regex::icase;
    std::vector<std::pair<std::regex, std::string>> p;
    // Spelled with regex syntax so that this file does not match itself.
    p.emplace_back(std::regex(R"(miren'?s bug)", flags), "names another system's bug as history");
    p.emplace_back(std::regex(R"(\bused to\b)", flags), "\"used to\" (history, or ambiguous: say what it is for)");
    p.emplace_back(std::regex(R"(\bpreviously\b)", flags), "\"previously\" (history)");
    p.emplace_back(std::regex(R"(\bwas fixed\b)", flags), "\"was fixed\" (history)");
    p.emplace_back(std::regex(R"(\bissue\s*#?\s*[0-9]+)", flags), "an issue number (history)");
    p.emplace_back(std::regex(R"(\(issue\s*:)", flags), "an issue reference (history)");
    return p;
  }();
  std::vector<Finding> out;
  const std::string s(text);
  for (const auto& [re, why] : phrases)
    for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it)
      out.push_back({file, line_of(text, static_cast<std::size_t>(it->position())),
                     why + ": history belongs in commit messages and docs, code comments say why"});
  return out;
}

bool is_product_code(std::string_view file) {
  for (std::string_view dir : {"controller/", "loader/", "bpf/", "include/", "packaging/"})
    if (file.starts_with(dir)) return true;
  return false;
}

std::vector<std::string> text_files(const fs::path& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path rel = fs::relative(it->path(), root);
    if (it->is_directory()) {
      if (rel == ".git" || rel == ".cache" || rel == "tests/fuzz/corpus" || fs::exists(it->path() / "CMakeCache.txt"))
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    const std::string text = read_file(it->path());
    if (text.find('\0') != std::string::npos) continue;  // binary
    out.push_back(rel.string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace portway::repo_check
