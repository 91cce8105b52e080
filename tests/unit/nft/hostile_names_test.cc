// User text reaches the ruleset only inside element comments (dataplane/nft/comment.h), made
// safe there: outside the comments, app, service and port names (whatever the rules of docs/config.md
// let through, and worse) never appear. The rest of the ruleset is built from numbers and a
// fixed vocabulary, which the character check below pins down. comment_fuzz_test.cc fuzzes the
// comments themselves.
#include <gtest/gtest.h>

#include "comment_strip.h"
#include "dataplane/nft/comment.h"
#include "dataplane/nft/planner.h"
#include "dataplane/nft/reconstruct.h"
#include "private_netns.h"
#include "states.h"
#include "table_model.h"

namespace portway::dataplane::nft {
namespace {

using config::Protocol;
using testing::frontend;
using testing::member;
using testing::node_port;

const std::vector<std::string>& hostile() {
  static const std::vector<std::string> names{
      "svc/\"; flush ruleset; \"/x",
      "svc/a}/b{",
      "svc/line\nadd table ip evil\n/x",
      std::string("svc/nul\0byte/x", 14),
      "svc/" + std::string(5000, 'A') + "/x",
      "svc/$(reboot)/`id`",
      "svc/comment \"#\"/x",
      "svc/ünïcödé/名前",
  };
  return names;
}

state::DataplaneState hostile_state(std::size_t drop_last_member_of = SIZE_MAX) {
  std::vector<state::Frontend> fes;
  std::vector<state::NodePort> nps;
  std::vector<state::BackendSet> sets;
  const auto& names = hostile();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const net::Ipv4 addr{0xC6130001u + static_cast<std::uint32_t>(i)};
    const std::string port_name = names[(i + 1) % names.size()];  // port names are hostile too
    fes.push_back({{addr, 80, Protocol::tcp}, 7000, names[i], port_name});
    fes.push_back({{addr, 53, Protocol::udp}, 7001, names[i], port_name + ";drop"});
    nps.push_back({{static_cast<std::uint16_t>(30000 + i), Protocol::tcp}, 7000, names[i], port_name});
    state::BackendSet set{names[i], {}};
    for (std::uint32_t b = 0; b < 3; ++b) {
      if (i == drop_last_member_of && b == 2) continue;
      set.members.push_back({net::Ipv4{0xC6120A02u + static_cast<std::uint32_t>(i) * 256 + b}, std::nullopt,
                             b == 1 ? state::MemberState::draining : state::MemberState::running});
    }
    sets.push_back(std::move(set));
  }
  return state::DataplaneState::from_parts(std::move(fes), std::move(nps), std::move(sets));
}

void expect_no_user_text(const std::string& with_comments) {
  std::vector<std::string> comments;
  const std::string text = testing::strip_comments(with_comments, comments);
  EXPECT_FALSE(comments.empty());
  for (const auto& c : comments) {
    EXPECT_LE(c.size(), kCommentMaxBytes);
    EXPECT_EQ(comment_safe(c), c);
  }
  for (const auto& name : hostile()) {
    for (const std::string& part : {name, name.substr(4, 6), std::string("flush ruleset"), std::string("evil"),
                                   std::string("reboot"), std::string(";drop")}) {
      EXPECT_EQ(text.find(part), std::string::npos) << "user text reached the ruleset: " << part;
    }
  }
  // The whole vocabulary: lower-case words, digits, addresses, punctuation of the grammar.
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || std::string_view(" _.:;{},@!=/-\"\n").find(c) != std::string_view::npos;
    ASSERT_TRUE(ok) << "unexpected character 0x" << std::hex << static_cast<int>(static_cast<unsigned char>(c));
  }
  // Quotes appear only around the fixed counter names.
  std::size_t open = std::string::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '"') continue;
    if (open == std::string::npos) {
      open = i;
      continue;
    }
    const std::string word = text.substr(open + 1, i - open - 1);
    EXPECT_TRUE(word == "no_backend" || word == "undeclared_port") << word;
    open = std::string::npos;
  }
  EXPECT_EQ(open, std::string::npos) << "unbalanced quote";
}

TEST(NftHostileNames, FullRulesetHoldsNoUserTextOutsideComments) {
  const auto s = hostile_state();
  expect_no_user_text(plan_full(ReadBack{}, s, {}, testing::numbers_for(s)).tx.text());
}

TEST(NftHostileNames, IncrementalChangesHoldNoUserTextOutsideComments) {
  const auto before = hostile_state();
  const auto after = hostile_state(3);
  const auto numbers = testing::numbers_for(before);
  const auto d = state::diff(before, after);
  const auto plan = plan_incremental(before, InstalledIndex::build(before, {}), {}, after, d, numbers);
  EXPECT_FALSE(plan.tx.empty());
  expect_no_user_text(plan.tx.text());
}

TEST(NftHostileNames, TheKernelAcceptsTheRulesetAndNamesComeBackFromMemory) {
  const auto s = hostile_state();
  const auto numbers = testing::numbers_for(s);
  const std::string text = plan_full(ReadBack{}, s, {}, numbers).tx.text();
  const auto r = testing::nft_dry_run(text);
  if (r.skipped) GTEST_SKIP() << r.output;
  EXPECT_TRUE(r.ok) << r.output;

  // Read back (modelled): the names are restored from the number book, not from the table.
  ReadBack rb;
  rb.table = true;
  const auto c = testing::contents_of(s, numbers);
  for (const SetDef& d : set_defs())
    for (const auto& [k, v] : c[static_cast<std::size_t>(d.id)]) rb.sets[std::string(d.name)].elements[k] = v;
  EXPECT_EQ(reconstruct(rb, numbers, &s).state, s);
  const auto anonymous = reconstruct(rb, SetNumbers{}, nullptr).state;
  for (const auto& set : anonymous.backend_sets()) EXPECT_TRUE(set.id.starts_with("nft-set-")) << set.id;
}

}  // namespace
}  // namespace portway::dataplane::nft
