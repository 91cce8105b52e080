// The nesting bound (docs/config.md "Files"): deep documents are a clear error at file:line:col,
// never a stack overflow in the parser, for app.toml and node files alike.
#include <gtest/gtest.h>

#include <string>

#include "config/app_parser.h"
#include "config/nesting_scan.h"
#include "config/node_settings.h"

namespace portway::config {
namespace {

constexpr std::size_t kDeep = 40000;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string dotted_key(std::size_t depth) { return "a" + repeat(".a", depth - 1) + " = 1\n"; }
std::string table_header(std::size_t depth) { return "[a" + repeat(".a", depth - 1) + "]\n"; }
std::string array_of_tables_header(std::size_t depth) { return "[[a" + repeat(".a", depth - 1) + "]]\n"; }
// The key is the first level, each bracket one more.
std::string nested_arrays(std::size_t depth) {
  return "a = " + repeat("[", depth - 1) + "1" + repeat("]", depth - 1) + "\n";
}
// `a = {a = {a = 1}}` is 5 levels: each brace and each key; an even depth ends in [1].
std::string nested_inline_tables(std::size_t depth) {
  const std::size_t braces = (depth - 1) / 2;
  const std::string innermost = (depth - 1) % 2 ? "[1]" : "1";
  return "a = " + repeat("{a = ", braces) + innermost + repeat("}", braces) + "\n";
}
std::string bare_brackets(std::size_t depth) { return repeat("[", depth) + repeat("]", depth) + "\n"; }

struct DeepForm {
  const char* name;
  std::string (*make)(std::size_t depth);
};

const DeepForm kForms[] = {
    {"dotted_key", dotted_key},
    {"table_header", table_header},
    {"array_of_tables_header", array_of_tables_header},
    {"nested_arrays", nested_arrays},
    {"nested_inline_tables", nested_inline_tables},
    {"bare_brackets", bare_brackets},
};

class DeepDocument : public ::testing::TestWithParam<DeepForm> {};

TEST_P(DeepDocument, AppTomlIsAClearErrorNotACrash) {
  const std::string text = GetParam().make(kDeep);
  const auto out = parse_app(text, "app.toml");
  ASSERT_FALSE(out.ok());
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].file, "app.toml");
  EXPECT_EQ(out.errors[0].line, 1u);
  EXPECT_NE(out.errors[0].message.find("nested more than 64 levels"), std::string::npos)
      << to_string(out.errors[0]);
}

TEST_P(DeepDocument, NodeFileIsAClearErrorNotACrash) {
  const std::string text = "dataplane = \"nft\"\n" + GetParam().make(kDeep);
  const auto out = parse_node_settings(text, "node.toml");
  ASSERT_FALSE(out.settings);
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].line, 2u);
  EXPECT_NE(out.errors[0].message.find("nested more than 64 levels"), std::string::npos)
      << to_string(out.errors[0]);
}

TEST_P(DeepDocument, SixtyFourLevelsPassTheScanAndSixtyFiveDoNot) {
  EXPECT_FALSE(check_nesting(GetParam().make(64), "f.toml"));
  EXPECT_TRUE(check_nesting(GetParam().make(65), "f.toml"));
}

INSTANTIATE_TEST_SUITE_P(EveryForm, DeepDocument, ::testing::ValuesIn(kForms),
                         [](const auto& tc) { return std::string(tc.param.name); });

TEST(NestingScan, PointsAtTheFirstLevelTooDeep) {
  // "a" then 64 ".a": the 65th segment starts at column 1 + 64 * 2 = 129.
  const auto d = check_nesting("# deep\n\n" + dotted_key(70), "app.toml");
  ASSERT_TRUE(d);
  EXPECT_EQ(to_string(*d).substr(0, 18), "app.toml:3:129: ne");
}

TEST(NestingScan, ColumnsCountCharactersNotBytes) {
  // `"é" = ` is 6 characters (7 bytes): bracket k is at column 6 + k, and the 64th is the
  // 65th level (the key is the first).
  const auto d = check_nesting("\"\xC3\xA9\" = " + std::string(65, '['), "f.toml", 64);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->col, 70u);
}

TEST(NestingScan, HeadersKeysAndValuesAddUp) {
  // [a.b] + c.d + [ + { + e: 7 levels.
  const std::string text = "[a.b]\nc.d = [{e = 1}]\n";
  EXPECT_FALSE(check_nesting(text, "f", 7));
  EXPECT_TRUE(check_nesting(text, "f", 6));
  // A later header resets the level; keys after a closed array are back at the key's level.
  EXPECT_FALSE(check_nesting("[a.b.c.d]\n[x]\ny = [[1], [2]]\nz.w = 2\n", "f", 4));
}

TEST(NestingScan, BracketsInStringsAndCommentsDoNotCount) {
  const std::string deep = std::string(100, '[') + std::string(100, '{');
  const std::string text = "a = \"" + deep + "\"\n" + "b = '" + deep + "'\n" + "c = \"\"\"\n" +
                           deep + "\n\\\"\"\"\n" + deep + "\"\"\"\n" + "d = '''\n" + deep +
                           "''''\n" + "# " + deep + "\n" + "e = [ # " + deep + "\n 1,\n 2.5 ]\n" +
                           "f = \"\\\"" + deep + "\"\n";
  EXPECT_FALSE(check_nesting(text, "f")) << to_string(*check_nesting(text, "f"));
  const auto parsed = parse_app(text, "app.toml");
  for (const auto& e : parsed.errors) EXPECT_EQ(e.message.find("nested more"), std::string::npos);
}

TEST(NestingScan, RealisticLayoutsStayShallow) {
  // Arrays of tables and inline tables spread over lines, as a real app.toml has them.
  const std::string text = R"(name = "game"
[services.web]
ports = [
  { port = 80, target_port = 8080, node_port = 30080 },  # [[{{ not nesting
  { port = 443, target_port = 8443 },
]
[[services.web.extra]]
labels = { "tier.example/x" = "a", b.c = "d" }
)";
  EXPECT_FALSE(check_nesting(text, "app.toml", 7));  // labels.b.c under the header
}

}  // namespace
}  // namespace portway::config
