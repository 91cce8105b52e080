#include "config/nesting_scan.h"

#include <cstdint>
#include <vector>

namespace portway::config {
namespace {

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

class NestingScanner {
 public:
  NestingScanner(std::string_view text, const std::string& file, std::size_t limit)
      : text_(text), file_(file), limit_(limit) {}

  std::optional<Diagnostic> run() {
    while (!at_end() && !found_) line();
    return found_;
  }

 private:
  // An open array or inline table, and the level it was opened at.
  struct Frame {
    bool inline_table;
    std::size_t outer;
  };

  bool at_end() const { return pos_ >= text_.size(); }
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  // Columns count characters: a UTF-8 continuation byte does not start a new column. The
  // text is valid UTF-8 by now (check_text runs first).
  void advance() {
    if (at_end()) return;
    const char c = text_[pos_++];
    if (c == '\n') {
      ++line_;
      col_ = 1;
    } else if (at_end() || (static_cast<unsigned char>(text_[pos_]) & 0xC0) != 0x80) {
      ++col_;
    }
  }
  void advance(std::size_t n) {
    while (n-- > 0) advance();
  }

  void skip_blanks() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r') advance();
  }
  void skip_comment() {
    while (!at_end() && peek() != '\n') advance();
  }

  // At a quote: past the string. An unterminated one ends at the line end (or the text end
  // for a multi-line one); reporting it is the parser's job.
  void skip_string() {
    const char q = peek();
    const bool basic = q == '"';
    if (peek(1) == q && peek(2) == q) {
      advance(3);
      while (!at_end()) {
        if (basic && peek() == '\\') {
          advance(2);
        } else if (peek() == q && peek(1) == q && peek(2) == q) {
          advance(3);
          // Up to two more quotes belong to the content: """a""""" ends after five.
          for (int extra = 0; extra < 2 && peek() == q; ++extra) advance();
          return;
        } else {
          advance();
        }
      }
      return;
    }
    advance();
    while (!at_end() && peek() != '\n') {
      if (basic && peek() == '\\') {
        advance(2);
      } else if (peek() == q) {
        advance();
        return;
      } else {
        advance();
      }
    }
  }

  // Records the error at the current position when `level` is too deep.
  bool too_deep(std::size_t level) {
    if (level <= limit_) return false;
    found_ = Diagnostic{file_, line_, col_, "",
                        "nested more than " + std::to_string(limit_) +
                            " levels deep (table headers, dotted keys, arrays and inline tables "
                            "together); flatten the document"};
    return true;
  }

  // A (dotted) key starting here: the number of its segments, each checked against the limit.
  std::size_t key_segments(std::size_t base) {
    std::size_t n = 0;
    for (;;) {
      skip_blanks();
      const char c = peek();
      const bool quoted = c == '"' || c == '\'';
      if (!quoted && !is_bare_key_char(c)) return n;
      if (too_deep(base + n + 1)) return n;
      if (quoted) {
        skip_string();
      } else {
        while (is_bare_key_char(peek())) advance();
      }
      ++n;
      skip_blanks();
      if (peek() != '.') return n;
      advance();
    }
  }

  // After `KEY =` in an inline table, or a header's key: the key and its '='.
  std::size_t key_and_equals(std::size_t base) {
    const std::size_t n = key_segments(base);
    skip_blanks();
    if (peek() == '=') advance();
    return base + n;
  }

  // Values (and whatever else) until the line ends outside any array or inline table.
  void values(std::size_t level, std::vector<Frame> open) {
    while (!at_end() && !found_) {
      const char c = peek();
      if (c == '\n') {
        advance();
        if (open.empty()) return;
      } else if (c == '#') {
        skip_comment();
      } else if (c == '"' || c == '\'') {
        skip_string();
      } else if (c == '[' || c == '{') {
        if (too_deep(level + 1)) return;
        open.push_back({c == '{', level});
        ++level;
        advance();
        if (c == '{') level = key_and_equals(level);
      } else if (c == ',') {
        advance();
        if (!open.empty()) {
          level = open.back().outer + 1;
          if (open.back().inline_table) level = key_and_equals(level);
        }
      } else if (c == ']' || c == '}') {
        advance();
        if (!open.empty()) {
          level = open.back().outer;
          open.pop_back();
        }
      } else {
        advance();
      }
    }
  }

  void line() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n') advance();
    if (at_end()) return;
    if (peek() == '#') return skip_comment();
    if (peek() == '[') {
      // `[` or `[[` then a key is a table header; more brackets are nested arrays (invalid
      // here, but the parser must not be the one to find out how deep they go).
      std::size_t brackets = 0;
      while (peek() == '[' && brackets < 2) advance(), ++brackets;
      skip_blanks();
      if (peek() == '[') {
        std::vector<Frame> open;
        for (std::size_t i = 0; i < brackets; ++i) open.push_back({false, i});
        return values(brackets, std::move(open));
      }
      table_level_ = key_segments(0);
      return values(table_level_, {});
    }
    values(key_and_equals(table_level_), {});
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t limit_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
  std::uint32_t col_ = 1;
  std::size_t table_level_ = 0;  // segments of the last table header
  std::optional<Diagnostic> found_;
};

}  // namespace

std::optional<Diagnostic> check_nesting(std::string_view text, const std::string& file,
                                        std::size_t limit) {
  return NestingScanner(text, file, limit).run();
}

}  // namespace portway::config
