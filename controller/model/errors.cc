#include "model/errors.h"

namespace portway::model {
namespace {

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace

std::string printable_quoted(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s.substr(0, 80)) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F && c != '"' && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
    }
  }
  return out + (s.size() > 80 ? "...\"" : "\"");
}

Rejected::Rejected(std::vector<std::string> reasons)
    : Error(kExitRejected, join(reasons)), reasons_(std::move(reasons)) {}

}  // namespace portway::model
