#include "dataplane/nft/comment.h"

namespace portway::dataplane::nft {
namespace {

constexpr char kReplacement = '?';

bool continuation(unsigned char c) { return (c & 0xc0u) == 0x80u; }

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), 0 when there is none.
std::size_t sequence_length(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (!continuation(b(i))) return 0;
  return n;
}

}  // namespace

std::string comment_safe(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c < 0x80) {
      const bool unsafe = c < 0x20 || c == 0x7f || c == '"' || c == '\\';
      out.push_back(unsafe ? kReplacement : static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t n = sequence_length(raw.substr(i));
    // U+0080-U+009F (C1 controls) are encoded as C2 80 - C2 9F.
    const bool c1 = n == 2 && c == 0xc2 && static_cast<unsigned char>(raw[i + 1]) <= 0x9f;
    if (n == 0 || c1) {
      out.push_back(kReplacement);
      ++i;  // a broken sequence is replaced byte by byte: resynchronises on the next lead byte
      continue;
    }
    out.append(raw.substr(i, n));
    i += n;
  }
  return out;
}

std::string_view comment_prefix(std::string_view safe, std::size_t max_bytes) {
  if (safe.size() <= max_bytes) return safe;
  std::size_t end = max_bytes;
  while (end > 0 && continuation(static_cast<unsigned char>(safe[end]))) --end;
  return safe.substr(0, end);
}

std::string element_comment(std::string_view service, std::string_view port_name) {
  const std::string svc = comment_safe(service);
  if (port_name.empty()) return std::string(comment_prefix(svc, kCommentMaxBytes));
  const std::string port_safe = comment_safe(port_name);
  const std::string_view port = comment_prefix(port_safe, kCommentPortBytes);
  std::string out(comment_prefix(svc, kCommentMaxBytes - 1 - port.size()));
  out += ':';
  out += port;
  return out;
}

}  // namespace portway::dataplane::nft
