// libFuzzer target for the nft element comments (controller/dataplane/nft/comment.h), the one
// place user text reaches the ruleset. Input: a Service id and a port name separated by the
// first 0xff byte. Beyond "no crash, no sanitizer report" it checks the contract: at most
// kCommentMaxBytes, valid UTF-8 (checked by the config layer's own validator), no quote,
// backslash or control byte, a fixed point of comment_safe; and that an element written with
// the comment is, comment taken out, exactly the element written without one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "comment_strip.h"
#include "config/text_input.h"
#include "dataplane/nft/comment.h"
#include "dataplane/nft/transaction.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

using namespace portway::dataplane::nft;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = in.find('\xff');
  const std::string_view service = in.substr(0, cut);
  const std::string_view port = cut == std::string_view::npos ? std::string_view{} : in.substr(cut + 1);

  const std::string c = element_comment(service, port);
  check(c.size() <= kCommentMaxBytes);
  check(!portway::config::find_invalid_utf8(c).has_value());
  check(comment_safe(c) == c);
  for (const char ch : c) {
    const auto b = static_cast<unsigned char>(ch);
    check(b >= 0x20 && b != 0x7f && ch != '"' && ch != '\\');
  }

  Transaction with, without;
  with.add_element(SetName::svc_disp, "198.18.0.1 . tcp . 80", "goto pick_svc_1", c);
  with.add_element(SetName::svc_fe, "198.18.0.1 . tcp . 80", "", c);
  without.add_element(SetName::svc_disp, "198.18.0.1 . tcp . 80", "goto pick_svc_1");
  without.add_element(SetName::svc_fe, "198.18.0.1 . tcp . 80", "");
  std::vector<std::string> comments;
  check(portway::dataplane::nft::testing::strip_comments(with.text(), comments) == without.text());
  check(comments.size() == (c.empty() ? 0u : 2u));
  for (const auto& x : comments) check(x == c);
  return 0;
}
