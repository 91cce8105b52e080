// The parity comparison must fail on everything that is not a listed difference: a missing
// table, a missing row, an unlisted value difference, a field only one side has, and an
// exception that no longer matches anything.
#include <gtest/gtest.h>

#include "parity.h"

namespace portway::conformance {
namespace {

constexpr std::string_view kTwo[] = {"a", "b"};

Table table(const std::string& dp) {
  Table t{dp, {}};
  t.rows["a"] = {{"answered", "yes"}, {"bytes", "31"}};
  t.rows["b"] = {{"client_saw", "refused"}};
  return t;
}

TEST(Parity, IdenticalTablesHold) {
  const auto r = compare_tables(table("xdp"), table("nft"), kTwo, {});
  EXPECT_TRUE(r.failures.empty()) << r.failures.front();
}

TEST(Parity, AMissingTableFails) {
  EXPECT_FALSE(compare_tables(std::nullopt, table("nft"), kTwo, {}).failures.empty());
  EXPECT_FALSE(compare_tables(table("xdp"), std::nullopt, kTwo, {}).failures.empty());
}

TEST(Parity, AMissingRowFailsEvenWhenBothLackIt) {
  auto x = table("xdp"), n = table("nft");
  x.rows.erase("b");
  EXPECT_EQ(compare_tables(x, n, kTwo, {}).failures.size(), 1u);
  n.rows.erase("b");
  EXPECT_EQ(compare_tables(x, n, kTwo, {}).failures.size(), 2u);
}

TEST(Parity, UnlistedDifferencesFailListedOnesPass) {
  auto x = table("xdp");
  x.rows["a"]["bytes"] = "101";
  x.rows["b"]["extra"] = "1";  // a field only one side has
  auto r = compare_tables(x, table("nft"), kTwo, {});
  EXPECT_EQ(r.failures.size(), 2u);
  r = compare_tables(x, table("nft"), kTwo, {{"a", "bytes", "L2 vs L3"}, {"b", "extra", "why"}});
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(r.allowed.size(), 2u);
}

TEST(Parity, AStaleExceptionFails) {
  const auto r = compare_tables(table("xdp"), table("nft"), kTwo, {{"a", "bytes", "no longer differs"}});
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("matches no difference"), std::string::npos);
}

TEST(Parity, ExceptionLinesNeedAReason) {
  std::vector<std::string> errors;
  const auto ex = parse_exceptions("# comment\n\ncounters vip_udp53.bytes L2 frame vs IP length\nhairpin source\n", errors);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].reason, "L2 frame vs IP length");
  EXPECT_EQ(errors.size(), 1u);
}

}  // namespace
}  // namespace portway::conformance
