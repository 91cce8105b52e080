// The generated ruleset for small states, pinned as golden text, and accepted by the real
// libnftables + kernel pair (dry run: what `nft --check -f` does) in a private namespace.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "dataplane/nft/nft_context.h"
#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/nft/table_reader.h"
#include "dataplane/nft/planner.h"
#include "private_netns.h"
#include "states.h"

namespace portway::dataplane::nft {
namespace {

using testing::in_private_netns;
using testing::nft_dry_run;

std::string full_text(const state::DataplaneState& s) {
  SetNumbers numbers;
  for (const auto& set : s.backend_sets()) numbers.assign(set.id);
  return plan_full(ReadBack{}, s, {}, numbers).tx.text();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Golden files live next to this test; PORTWAY_UPDATE_GOLDEN=1 rewrites them (then review the
// diff like any code change).
void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = std::string(PORTWAY_NFT_GOLDEN_DIR) + "/" + name;
  if (const char* u = std::getenv("PORTWAY_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(path) << text;
  }
  EXPECT_EQ(text, read_file(path)) << "golden " << path << " differs; PORTWAY_UPDATE_GOLDEN=1 rewrites it";
}

TEST(NftRuleset, EmptyStateIsTheSkeletonOnly) { expect_golden("empty.nft", full_text({})); }

TEST(NftRuleset, SmallStateGolden) { expect_golden("small.nft", full_text(testing::small_state())); }

TEST(NftRuleset, DualStackStateGolden) { expect_golden("small_dual.nft", full_text(testing::small_dual_state())); }

TEST(NftRuleset, DryRunAcceptsTheFullRuleset) {
  for (const auto& s : {testing::small_state(), testing::small_dual_state()}) {
    const auto r = nft_dry_run(full_text(s));
    if (r.skipped) GTEST_SKIP() << r.output;
    EXPECT_TRUE(r.ok) << r.output;
  }
}

// The skeleton plus `broken` must be refused, with `says` in libnftables' answer.
void expect_dry_run_rejects(const std::string& broken, const std::string& says) {
  const auto r = nft_dry_run(full_text({}) + broken);
  if (r.skipped) GTEST_SKIP() << r.output;
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.output.find(says), std::string::npos) << r.output;
}

TEST(NftRuleset, DryRunRejectsBrokenInput) {
  // The check must be able to fail: a reference to a set that does not exist.
  expect_dry_run_rejects("add element inet portway no_such_set { 1.2.3.4 }\n", "Error");
}

TEST(NftRuleset, DryRunRejectsBrokenSyntax) {
  expect_dry_run_rejects("add rule inet portway dispatch ip daddr }{ drop\n", "syntax error");
}

// The whole dataplane in a private namespace: commit, change, read back through netlink, and
// compare with libnftables' own JSON listing of the same table.
void expect_read_back_alike(const state::DataplaneState& s, const state::DataplaneState& changed) {
  const auto r = in_private_netns([&] {
    NftDataplane dp(config::NodeSettings{}, NftDataplane::Options{false});
    dp.apply(s);
    dp.apply(changed);
    std::string problems;
    if (dp.installed() != changed) problems += "installed() differs from the applied state; ";
    NftContext ctx;
    const ReadBack json = parse_listing(ctx.list_json("list table inet portway"));
    const ReadBack nl = TableReader().read();
    for (const SetDef& d : set_defs()) {
      const auto& a = json.sets.at(std::string(d.name));
      const auto& b = nl.sets.at(std::string(d.name));
      if (a.elements != b.elements) problems += std::string(d.name) + ": elements differ; ";
      if (a.signature != b.signature || b.signature != signature(d))
        problems += std::string(d.name) + ": signature " + a.signature + " / " + b.signature + "; ";
      if (a.counters != b.counters) problems += std::string(d.name) + ": counters differ; ";
      if (a.comments != b.comments) problems += std::string(d.name) + ": comments differ; ";
    }
    if (json.counters != nl.counters) problems += "named counters differ; ";
    if (nl.sets.at("svc_fe").comments.size() + nl.sets.at("svc_fe6").comments.size() != s.frontends().size())
      problems += "svc_fe/svc_fe6 comments missing; ";
    for (const auto& [name, c] : json.chains) {
      const auto it = nl.chains.find(name);
      if (it == nl.chains.end() || it->second.hook != c.hook || it->second.priority != c.priority ||
          it->second.type != c.type)
        problems += "chain " + name + " differs; ";
    }
    return problems;
  });
  if (r.skipped) GTEST_SKIP() << r.output;
  ASSERT_TRUE(r.ok) << r.output;
  EXPECT_EQ(r.output, "");
}

TEST(NftRuleset, CommittedChangesReadBackThroughNetlinkAndJsonAlike) {
  const auto s = testing::small_state();
  expect_read_back_alike(s, testing::with_members(s, "svc/irc/irc", {testing::member("198.18.10.2"),
                                                                      testing::member("198.18.13.2")}));
}

// IPv6 keys and data (16-byte fields in concatenations) decode alike, and installed() returns
// the IPv6 frontends and the members' IPv6 addresses.
TEST(NftRuleset, DualStackChangesReadBackThroughNetlinkAndJsonAlike) {
  const auto s = testing::small_dual_state();
  state::Member moved = testing::member("198.18.12.2");
  moved.ipv6 = net::parse_ipv6("2001:2:0:c::9").value();
  expect_read_back_alike(s, testing::with_members(s, "svc/irc/irc", {testing::member("198.18.11.2"), moved}));
}

}  // namespace
}  // namespace portway::dataplane::nft
