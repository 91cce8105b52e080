// Element comments carry user text (Service ids, port names) into the ruleset. Whatever the
// bytes, they must never break or inject into the nft text, and the table must have exactly
// the structure it has with plain names: checked byte by byte, with a bounded seeded
// generator over the name rules of docs/config.md and every byte value, and in the kernel (a private
// namespace) by committing hostile names and reading the table back.
#include <gtest/gtest.h>

#include <algorithm>
#include <bitset>
#include <cctype>
#include <chrono>
#include <map>
#include <random>
#include <sstream>

#include "comment_strip.h"
#include "config/name_rules.h"
#include "dataplane/nft/comment.h"
#include "dataplane/nft/nft_context.h"
#include "dataplane/nft/planner.h"
#include "dataplane/nft/readback.h"
#include "private_netns.h"
#include "table_model.h"

namespace portway::dataplane::nft {
namespace {

using config::Protocol;

// What comment.h promises for any output.
void expect_safe(const std::string& c) {
  EXPECT_LE(c.size(), kCommentMaxBytes);
  EXPECT_EQ(comment_safe(c), c) << "not a fixed point: " << c;
  for (const char ch : c) {
    const auto b = static_cast<unsigned char>(ch);
    ASSERT_FALSE(b < 0x20 || b == 0x7f || ch == '"' || ch == '\\') << "byte 0x" << std::hex << int{b};
  }
}

TEST(NftComment, EveryByteAloneComesOutSafe) {
  for (int b = 0; b < 256; ++b) {
    const std::string in(1, static_cast<char>(b));
    const std::string out = comment_safe(in);
    expect_safe(out);
    const bool kept = b >= 0x20 && b < 0x7f && b != '"' && b != '\\';
    EXPECT_EQ(out, kept ? in : "?") << b;
  }
}

TEST(NftComment, Utf8IsKeptWholeAndNeverCutInside) {
  EXPECT_EQ(comment_safe("svc/ünïcödé/名前😀"), "svc/ünïcödé/名前😀");
  EXPECT_EQ(comment_safe("\xc3"), "?");                 // lead byte without its continuation
  EXPECT_EQ(comment_safe("\xc0\xaf"), "??");            // overlong '/'
  EXPECT_EQ(comment_safe("\xed\xa0\x80"), "???");       // UTF-16 surrogate
  EXPECT_EQ(comment_safe("\xf4\x90\x80\x80"), "????");  // above U+10FFFF
  EXPECT_EQ(comment_safe("\xc2\x85x"), "??x");          // C1 control NEL
  EXPECT_EQ(comment_safe("a\"b\\c\nd"), "a?b?c?d");
  const std::string two = std::string(127, 'a') + "é";     // é ends at byte 129
  EXPECT_EQ(comment_prefix(two, kCommentMaxBytes), std::string(127, 'a'));
  const std::string three = std::string(126, 'a') + "名";  // 名 spans bytes 127..129
  EXPECT_EQ(comment_prefix(three, kCommentMaxBytes), std::string(126, 'a'));
  EXPECT_EQ(comment_prefix(std::string(125, 'a') + "名", kCommentMaxBytes).size(), 128u);
}

TEST(NftComment, ValidNamesArePrintedWholeAndTheLongestKeepTheirPort) {
  EXPECT_EQ(element_comment("svc/app/web", "http"), "svc/app/web:http");
  EXPECT_EQ(element_comment("svc/app/web", ""), "svc/app/web");
  const std::string longest = "svc/" + std::string(63, 'a') + "/" + std::string(63, 'b');  // 131 bytes
  const std::string port(15, 'p');
  const std::string c = element_comment(longest, port);
  EXPECT_EQ(c.size(), kCommentMaxBytes);
  EXPECT_EQ(c, longest.substr(0, kCommentMaxBytes - 16) + ":" + port);
  EXPECT_EQ(element_comment(longest, ""), longest.substr(0, kCommentMaxBytes));
}

// ---- seeded generator ------------------------------------------------------------------

class NameGen {
 public:
  explicit NameGen(std::uint64_t seed) : rng_(seed) {}

  // the name rules of docs/config.md (config/name_rules.h): [a-z0-9]([a-z0-9-]{0,max-2}[a-z0-9])?
  std::string label(std::size_t max) {
    static constexpr std::string_view alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
    const std::size_t len = pick(1, max);
    std::string s;
    for (std::size_t i = 0; i < len; ++i) {
      const bool edge = i == 0 || i + 1 == len;
      s.push_back(!edge && pick(0, 4) == 0 ? '-' : alnum[pick(0, alnum.size() - 1)]);
    }
    return s;
  }
  std::string bytes(std::size_t max_len) {
    std::string s(pick(0, max_len), '\0');
    for (char& c : s) c = static_cast<char>(pick(0, 255));
    return s;
  }
  // A Service id: valid, raw bytes, or valid with hostile text spliced in.
  std::string service() {
    static const std::vector<std::string> hostile{"\"; flush ruleset; \"", "\n", "\\", "}", "{", " comment \"",
                                                  "\" : goto x", "#", ";", "\xff", "\xc3", "名", "\x7f", std::string(1, '\0')};
    switch (pick(0, 2)) {
      case 0: return "svc/" + label(63) + "/" + label(63);
      case 1: return bytes(300);
      default: {
        std::string s = "svc/" + label(63) + "/" + label(63);
        s.insert(pick(0, s.size()), hostile[pick(0, hostile.size() - 1)]);
        return s;
      }
    }
  }
  std::string port() { return pick(0, 1) == 0 ? label(15) : bytes(40); }
  std::size_t pick(std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(rng_); }

 private:
  std::mt19937_64 rng_;
};

constexpr std::uint64_t kSeed = 0x70777931;

TEST(NftCommentFuzz, GeneratedNamesAlwaysGiveSafeCommentsAndValidOnesSurviveWhole) {
  NameGen gen(kSeed);
  std::bitset<256> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 0; i < 20000 && std::chrono::steady_clock::now() < deadline; ++i) {
    std::string svc = gen.service(), port = gen.port();
    if (i < 256) svc.insert(gen.pick(0, svc.size()), 1, static_cast<char>(i));  // every byte value, surely
    for (const char c : svc + port) seen.set(static_cast<unsigned char>(c));
    const std::string c = element_comment(svc, port);
    SCOPED_TRACE("iteration " + std::to_string(i) + " seed " + std::to_string(kSeed));
    expect_safe(c);
    const auto ascii_name = [](const std::string& s) {
      return std::all_of(s.begin(), s.end(), [](char ch) { return ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\'; });
    };
    if (config::is_port_name(port) && ascii_name(svc)) {
      // Valid names lose nothing but the tail of a Service id that does not fit.
      ASSERT_TRUE(c.ends_with(":" + port)) << c;
      const std::string head = c.substr(0, c.size() - port.size() - 1);
      EXPECT_TRUE(svc.starts_with(head));
      if (svc.size() + 1 + port.size() <= kCommentMaxBytes) {
        EXPECT_EQ(head, svc);
      }
    }
    if (HasFatalFailure()) return;
  }
  EXPECT_TRUE(seen.all()) << "not every byte value was generated";
}

// A state of `names.size()` Services, each with two frontends and a node port; the port
// names are the next Service's, so they are hostile too.
state::DataplaneState state_named(const std::vector<std::pair<std::string, std::string>>& names) {
  std::vector<state::Frontend> fes;
  std::vector<state::NodePort> nps;
  std::vector<state::BackendSet> sets;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& [svc, port] = names[i];
    const net::Ipv4 addr{0xC6130001u + static_cast<std::uint32_t>(i)};
    fes.push_back({{addr, 80, Protocol::tcp}, 7000, svc, port});
    fes.push_back({{addr, 53, Protocol::udp}, 7001, svc, ""});
    nps.push_back({{static_cast<std::uint16_t>(30000 + i), Protocol::tcp}, 7000, svc, port});
    state::BackendSet set{svc, {}};
    for (std::uint32_t b = 0; b < 3; ++b)
      set.members.push_back({net::Ipv4{0xC6120A02u + static_cast<std::uint32_t>(i) * 256 + b}, std::nullopt,
                             b == 1 ? state::MemberState::draining : state::MemberState::running});
    if (i % 3 == 2) set.members.clear();  // no backend: svc_noep / np_noep elements
    sets.push_back(std::move(set));
  }
  return state::DataplaneState::from_parts(std::move(fes), std::move(nps), std::move(sets));
}

// Commands as a sorted list, the items of each element command sorted too: what the text
// does, independent of the order of Services (which follows their ids).
std::vector<std::string> commands_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    const auto open = l.find(" { "), close = l.rfind(" }");
    if (l.find(" element ") != std::string::npos && open != std::string::npos && close != std::string::npos) {
      std::vector<std::string> items;
      const std::string body = l.substr(open + 3, close - open - 3);
      for (std::size_t i = 0; i <= body.size();) {
        const auto end = std::min(body.find(", ", i), body.size());
        items.push_back(body.substr(i, end - i));
        i = end + 2;
      }
      std::sort(items.begin(), items.end());
      l = l.substr(0, open + 3);
      for (const auto& item : items) l += item + ", ";
    }
    out.push_back(l);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<std::string, std::string>> plain_names(std::size_t n) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < n; ++i) out.emplace_back("svc/s" + std::to_string(i) + "/x", "p");
  return out;
}

std::string full_text(const state::DataplaneState& s) {
  return plan_full(ReadBack{}, s, {}, testing::numbers_for(s)).tx.text();
}

// Set numbers are derived from the Service id (set_numbers.h): the one place besides comments
// where names change the table, as opaque numbers. Each becomes "set#<i>", i the Service's
// position in `names`, so tables of differently named states compare.
std::string numbered(const std::string& text, const state::DataplaneState& s,
                     const std::vector<std::pair<std::string, std::string>>& names) {
  const SetNumbers numbers = testing::numbers_for(s);
  std::map<std::string, std::string> rename;
  for (std::size_t i = 0; i < names.size(); ++i)
    rename[std::to_string(*numbers.number_of(names[i].first))] = "set#" + std::to_string(i);
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] < '0' || text[i] > '9' || (i > 0 && std::isalnum(static_cast<unsigned char>(text[i - 1])))) {
      out.push_back(text[i++]);
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    const std::string token = text.substr(i, end - i);
    const auto it = rename.find(token);
    const bool whole = end == text.size() || !std::isalnum(static_cast<unsigned char>(text[end]));
    out += it != rename.end() && whole ? it->second : token;
    i = end;
  }
  return out;
}

// Names made unique (a Service id is unique) without changing their bytes' variety.
std::vector<std::pair<std::string, std::string>> generated_names(NameGen& gen, std::size_t n) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < n; ++i) out.emplace_back(gen.service() + "#" + std::to_string(i), gen.port());
  return out;
}

TEST(NftCommentFuzz, GeneratedNamesChangeNothingButTheComments) {
  NameGen gen(kSeed + 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int round = 0; round < 200 && std::chrono::steady_clock::now() < deadline; ++round) {
    const std::size_t n = gen.pick(1, 4);
    const auto names = generated_names(gen, n);
    const auto pnames = plain_names(n);
    const auto hs = state_named(names), ps = state_named(pnames);
    std::vector<std::string> comments, plain_comments;
    std::vector<std::string> stripped;
    ASSERT_NO_THROW(stripped = commands_of(numbered(testing::strip_comments(full_text(hs), comments), hs, names)))
        << "round " << round;
    const auto plain = commands_of(numbered(testing::strip_comments(full_text(ps), plain_comments), ps, pnames));
    SCOPED_TRACE("round " + std::to_string(round) + " seed " + std::to_string(kSeed + 1));
    // Same commands, same elements, same chains: the names live in the comments only.
    ASSERT_EQ(stripped, plain);
    ASSERT_EQ(comments.size(), plain_comments.size());
    for (const auto& c : comments) expect_safe(c);
    // Every Service's frontends carry its own comment.
    for (const auto& [svc, port] : names) {
      EXPECT_NE(std::find(comments.begin(), comments.end(), element_comment(svc, port)), comments.end());
    }
  }
}

// ---- in the kernel ---------------------------------------------------------------------

// Names that hold every byte value 1..255 between them, spliced into valid ids (NUL is
// covered by the text tests: a NUL is replaced like any control byte).
std::vector<std::pair<std::string, std::string>> every_byte_names() {
  std::vector<std::pair<std::string, std::string>> out;
  for (int start = 1; start < 256; start += 32) {
    std::string bytes;
    for (int b = start; b < std::min(start + 32, 256); ++b) bytes.push_back(static_cast<char>(b));
    out.emplace_back("svc/app/" + bytes + "\"; flush ruleset; add table ip evil #", "p" + bytes.substr(0, 5));
  }
  out.emplace_back("svc/" + std::string(63, 'a') + "/" + std::string(63, 'b'), std::string(15, 'p'));
  return out;
}

// The table as libnftables lists it, comments apart: "set key -> data" lines and chains.
std::string structure_of(const ReadBack& rb, std::map<std::string, std::string>* comments) {
  std::vector<std::string> lines;
  for (const auto& [name, set] : rb.sets) {
    for (const auto& [k, v] : set.elements) lines.push_back(name + " " + k + " -> " + v);
    if (comments)
      for (const auto& [k, c] : set.comments) (*comments)[name + " " + k] = c;
  }
  for (const auto& [name, chain] : rb.chains)
    lines.push_back("chain " + name + " " + chain.type + " " + chain.hook + " " + std::to_string(chain.priority) +
                    " rules " + std::to_string(chain.rules));
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// What the element writer meant each commented element to say.
class CommentSink final : public ElementSink {
 public:
  void put(SetName set, std::string key, std::string, std::string comment) override {
    if (!comment.empty()) comments[std::string(name_of(set)) + " " + key] = comment;
  }
  std::map<std::string, std::string> comments;
};

TEST(NftCommentFuzz, TheKernelKeepsEveryByteInsideTheCommentsAndTheTableUnchanged) {
  const auto names = every_byte_names();
  const auto hostile = state_named(names);
  const auto plain = state_named(plain_names(names.size()));
  const auto commit_and_list = [](const state::DataplaneState& s) {
    return testing::in_private_netns([text = full_text(s)] {
      NftContext ctx;
      ctx.run(text);
      return ctx.list_json("list ruleset");
    });
  };
  const auto h = commit_and_list(hostile);
  if (h.skipped) GTEST_SKIP() << h.output;
  ASSERT_TRUE(h.ok) << h.output;
  const auto p = commit_and_list(plain);
  ASSERT_TRUE(p.ok) << p.output;
  // Nothing but table inet portway exists (no injected table), with the plain table's shape.
  EXPECT_EQ(h.output.find("\"evil\""), std::string::npos);
  std::map<std::string, std::string> got;
  const ReadBack hostile_rb = parse_listing(h.output);
  EXPECT_EQ(sorted_lines(numbered(structure_of(hostile_rb, &got), hostile, names)),
            sorted_lines(numbered(structure_of(parse_listing(p.output), nullptr), plain, plain_names(names.size()))));

  CommentSink want;
  const SlotBook none;
  SlotTables slots(none, false);
  ElementWriter(hostile, testing::numbers_for(hostile), slots, want).all();
  EXPECT_EQ(got, want.comments);
  EXPECT_GT(got.size(), names.size() * 5);
}

}  // namespace
}  // namespace portway::dataplane::nft
