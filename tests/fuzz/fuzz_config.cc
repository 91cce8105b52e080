// libFuzzer target for everything that reads untrusted config text: app.toml and node
// settings. Beyond "no crash, no sanitizer report", it checks the parser's contract:
// an App iff no error, positions are 1-based, and every message is valid UTF-8 one-liner
// (they end up in JSON and in terminals).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/app_json.h"
#include "config/app_parser.h"
#include "config/node_settings.h"
#include "config/text_input.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_diagnostics(const std::vector<portway::config::Diagnostic>& errors) {
  for (const auto& d : errors) {
    check(d.line >= 1 && d.col >= 1);
    check(!portway::config::find_invalid_utf8(d.message).has_value());
    check(d.message.find('\n') == std::string::npos);
    check(!portway::config::find_invalid_utf8(d.path).has_value());
    // Strict dump throws on invalid UTF-8: the JSON output must never fail.
    (void)portway::config::to_json(d).dump();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto app = portway::config::parse_app(text, "fuzz.toml");
  check(app.ok() == app.app.has_value());
  check_diagnostics(app.errors);
  if (app.app) (void)portway::config::to_json(*app.app).dump();

  const auto node = portway::config::parse_node_settings(text, "node.toml");
  check(node.errors.empty() == node.settings.has_value());
  check_diagnostics(node.errors);
  return 0;
}
