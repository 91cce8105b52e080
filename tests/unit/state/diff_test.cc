// diff(): only what changed, keyed and ordered; patch(a, diff(a, b)) == b; and the
// invariants of DataplaneState::from_parts.
#include <gtest/gtest.h>

#include <random>

#include "state/compile.h"
#include "state/diff.h"
#include "state_builders.h"

namespace portway::state {
namespace {

using namespace builders;
using store::SandboxState;

// n Services of 3 ports with 4 endpoints each: the shape of the benchmark, small.
Snapshot fleet(int n) {
  Snapshot s;
  for (int i = 0; i < n; ++i) {
    const std::string app = "app" + std::to_string(i);
    const std::string a = "198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    s.services.push_back(service(app, "s", a.c_str(),
                                 {port("a", 7000), port("b", 7001, Protocol::udp),
                                  port("c", 7002, Protocol::tcp, static_cast<std::uint16_t>(30000 + i))}));
    s.claims.push_back({static_cast<std::uint16_t>(30000 + i), Protocol::tcp, app, "s"});
    for (int k = 0; k < 4; ++k) {
      const std::string b = "198.19." + std::to_string(i) + "." + std::to_string(k + 1);
      s.sandboxes.push_back(sandbox(app + "-" + std::to_string(k), app, "s", b.c_str()));
    }
  }
  return s;
}

TEST(Diff, IdenticalStatesHaveAnEmptyDiff) {
  const auto a = compile(fleet(5));
  EXPECT_TRUE(diff(a, a).empty());
  EXPECT_TRUE(diff(a, compile(fleet(5))).empty());
  EXPECT_TRUE(describe(diff(a, a)).empty());
}

TEST(Diff, OneEndpointChangeTouchesOnlyItsBackendSet) {
  auto snap = fleet(50);
  const auto before = compile(snap);
  snap.sandboxes[17 * 4 + 2].state = SandboxState::draining;  // app17-2
  const auto after = compile(snap);
  const StateDiff d = diff(before, after);
  EXPECT_TRUE(d.frontends.empty());
  EXPECT_TRUE(d.node_ports.empty());
  EXPECT_TRUE(d.backend_sets.added.empty());
  EXPECT_TRUE(d.backend_sets.removed.empty());
  ASSERT_EQ(d.backend_sets.changed.size(), 1u);
  const BackendSetChange& c = d.backend_sets.changed[0];
  EXPECT_EQ(c.id, "svc/app17/s");
  EXPECT_TRUE(c.members.added.empty());
  EXPECT_TRUE(c.members.removed.empty());
  ASSERT_EQ(c.members.changed.size(), 1u);
  EXPECT_EQ(c.members.changed[0].first, member("198.19.17.3"));
  EXPECT_EQ(c.members.changed[0].second, member("198.19.17.3", MemberState::draining));
  EXPECT_EQ(c.after, after.find_backend_set("svc/app17/s")->members);
  EXPECT_EQ(describe(d), std::vector<std::string>{
                             "~ backend set svc/app17/s: 198.19.17.3 running -> 198.19.17.3 draining"});
}

TEST(Diff, PatchInPlaceMatchesPatchAndRefusesADiffThatDoesNotFit) {
  auto snap = fleet(20);
  const auto before = compile(snap);
  snap.sandboxes[7 * 4 + 1].state = SandboxState::draining;
  snap.sandboxes[3 * 4].state = SandboxState::stopped;
  const auto after = compile(snap);
  const StateDiff d = diff(before, after);
  ASSERT_EQ(d.backend_sets.changed.size(), 2u);
  DataplaneState s = before;
  patch_in_place(s, d);
  EXPECT_EQ(s, after);
  EXPECT_EQ(s, patch(before, d));
  // Applied twice, the member changes no longer fit: refused, and nothing changed.
  EXPECT_THROW(patch_in_place(s, d), std::invalid_argument);
  EXPECT_EQ(s, after);
  // A diff with frontends takes the general path.
  snap.services.pop_back();
  const auto smaller = compile(snap);
  patch_in_place(s, diff(after, smaller));
  EXPECT_EQ(s, smaller);
}

TEST(Diff, AddedAndRemovedMembers) {
  auto snap = fleet(3);
  const auto before = compile(snap);
  snap.sandboxes[0].state = SandboxState::stopped;                      // app0-0 leaves
  snap.sandboxes.push_back(sandbox("app0-new", "app0", "s", "198.19.0.9"));  // one joins
  const auto d = diff(before, compile(snap));
  ASSERT_EQ(d.backend_sets.changed.size(), 1u);
  EXPECT_EQ(d.backend_sets.changed[0].members.removed, std::vector<Member>{member("198.19.0.1")});
  EXPECT_EQ(d.backend_sets.changed[0].members.added, std::vector<Member>{member("198.19.0.9")});
  EXPECT_EQ(describe(d), (std::vector<std::string>{"~ backend set svc/app0/s: + 198.19.0.9 running",
                                                   "~ backend set svc/app0/s: - 198.19.0.1 running"}));
}

TEST(Diff, ANewServiceAddsItsSetThenItsFrontends) {
  auto snap = fleet(2);
  const auto before = compile(snap);
  snap.services.push_back(service("irc", "irc", "198.18.9.9", {port("irc", 6667, Protocol::tcp, 6697)}));
  snap.claims.push_back({6697, Protocol::tcp, "irc", "irc"});
  const auto d = diff(before, compile(snap));
  EXPECT_EQ(describe(d), (std::vector<std::string>{
                             "+ backend set svc/irc/irc (0 members)",
                             "+ frontend 198.18.9.9:6667/tcp -> svc/irc/irc port irc (target 6667)",
                             "+ node_port 6697/tcp -> svc/irc/irc port irc (target 6667)",
                         }));
}

TEST(Diff, ARemovedServiceRemovesFrontendsThenItsSet) {
  auto snap = fleet(2);
  const auto before = compile(snap);
  snap.services.erase(snap.services.begin());
  const auto d = diff(before, compile(snap));
  EXPECT_EQ(d.frontends.removed.size(), 3u);
  EXPECT_EQ(d.node_ports.removed.size(), 1u);
  ASSERT_EQ(d.backend_sets.removed.size(), 1u);
  EXPECT_EQ(d.backend_sets.removed[0].members.size(), 4u) << "removed members, for ending their flows";
  const auto lines = describe(d);
  EXPECT_EQ(lines.back(), "- backend set svc/app0/s");
}

TEST(Diff, ATargetPortChangeIsAChangedFrontend) {
  auto snap = fleet(2);
  const auto before = compile(snap);
  snap.services[1].ports[0].target_port = 8000;
  const auto d = diff(before, compile(snap));
  ASSERT_EQ(d.frontends.changed.size(), 1u);
  EXPECT_EQ(d.frontends.changed[0].first.target_port, 7000);
  EXPECT_EQ(d.frontends.changed[0].second.target_port, 8000);
  EXPECT_TRUE(d.backend_sets.empty());
  EXPECT_TRUE(d.node_ports.empty());
}

TEST(Diff, PatchingWithTheDiffGivesTheTarget) {
  // Random pairs of states drawn from one universe; diff then patch must land exactly.
  std::mt19937 rng(7);
  const Snapshot universe = fleet(40);
  const auto draw = [&] {
    Snapshot s;
    for (std::size_t i = 0; i < universe.services.size(); ++i) {
      if (rng() % 3 == 0) continue;
      s.services.push_back(universe.services[i]);
      if (rng() % 2) s.services.back().ports[0].target_port = static_cast<std::uint16_t>(8000 + rng() % 3);
    }
    for (const auto& c : universe.claims) if (rng() % 4) s.claims.push_back(c);
    for (auto sb : universe.sandboxes) {
      if (rng() % 4 == 0) continue;
      sb.state = static_cast<SandboxState>(rng() % 3);
      s.sandboxes.push_back(sb);
    }
    return compile(s);
  };
  for (int round = 0; round < 50; ++round) {
    const auto a = draw(), b = draw();
    const auto d = diff(a, b);
    EXPECT_EQ(patch(a, d), b) << "round " << round;
    EXPECT_EQ(diff(a, b).empty(), a == b);
  }
  EXPECT_EQ(patch(DataplaneState{}, diff(DataplaneState{}, compile(universe))), compile(universe));
  EXPECT_EQ(patch(compile(universe), diff(compile(universe), DataplaneState{})), DataplaneState{});
}

TEST(Diff, PatchRefusesADiffThatDoesNotFit) {
  const auto a = compile(fleet(2));
  const auto b = compile(fleet(3));
  const auto d = diff(a, b);
  EXPECT_THROW(patch(b, d), std::invalid_argument) << "adds what already exists";
  EXPECT_THROW(patch(DataplaneState{}, diff(b, a)), std::invalid_argument) << "removes what is absent";
}

TEST(FromParts, SortsAndChecksInvariants) {
  const auto st = DataplaneState::from_parts(
      {{fkey("198.18.0.2", 80), 80, "svc/a/s", "x"}, {fkey("198.18.0.1", 80), 80, "svc/a/s", "x"}},
      {}, {{"svc/a/s", {member("198.18.9.2"), member("198.18.9.1")}}});
  EXPECT_EQ(st.frontends()[0].key, fkey("198.18.0.1", 80));
  EXPECT_EQ(st.backend_sets()[0].members[0], member("198.18.9.1"));

  EXPECT_THROW(DataplaneState::from_parts({{fkey("198.18.0.1", 80), 80, "svc/a/s", "x"},
                                           {fkey("198.18.0.1", 80), 81, "svc/a/s", "y"}},
                                          {}, {{"svc/a/s", {}}}),
               std::invalid_argument);
  EXPECT_THROW(DataplaneState::from_parts({{fkey("198.18.0.1", 80), 80, "svc/missing", "x"}}, {}, {}),
               std::invalid_argument);
  EXPECT_THROW(DataplaneState::from_parts({}, {{{1, Protocol::tcp}, 1, "svc/missing", "x"}}, {}),
               std::invalid_argument);
  EXPECT_THROW(DataplaneState::from_parts({}, {}, {{"s", {}}, {"s", {}}}), std::invalid_argument);
  EXPECT_THROW(DataplaneState::from_parts({}, {}, {{"s", {member("198.18.9.1"), member("198.18.9.1", MemberState::draining)}}}),
               std::invalid_argument);
}

TEST(FromParts, MembersNeedAnAddressAndNoAddressTwice) {
  EXPECT_THROW(DataplaneState::from_parts({}, {}, {{"s", {Member{}}}}), std::invalid_argument)
      << "a member without any address";
  EXPECT_THROW(DataplaneState::from_parts({}, {}, {{"s", {member46("198.18.9.1", "2001:2::9"), member6("2001:2::9")}}}),
               std::invalid_argument)
      << "one IPv6 address behind two keys";
  EXPECT_THROW(DataplaneState::from_parts({}, {}, {{"s", {member46("198.18.9.1", "2001:2::9"), member("198.18.9.1")}}}),
               std::invalid_argument)
      << "one IPv4 address behind two keys";
  const auto st = DataplaneState::from_parts(
      {}, {}, {{"s", {member("198.18.9.1"), member46("198.18.9.2", "2001:2::2"), member6("2001:2::9")}}});
  EXPECT_EQ(st.find_backend_set("s")->members.front(), member6("2001:2::9")) << "sorted by key";
}

// A member is its addresses: an IPv6-only one next to IPv4-only ones is added, changes state
// and leaves on its own, and patching follows.
TEST(Diff, Ipv6OnlyAndIpv4OnlyMembersOfOneSet) {
  const Frontend f4{fkey("198.18.0.1", 80), 80, "s", "http"}, f6{fkey("2001:2::1", 80), 80, "s", "http"};
  const auto a = DataplaneState::from_parts({f4, f6}, {}, {{"s", {member("198.18.9.1"), member("198.18.9.2")}}});
  const auto b = DataplaneState::from_parts({f4, f6}, {}, {{"s", {member("198.18.9.1"), member6("2001:2::9")}}});
  const StateDiff d = diff(a, b);
  ASSERT_EQ(d.backend_sets.changed.size(), 1u);
  const auto& members = d.backend_sets.changed[0].members;
  EXPECT_EQ(members.added, std::vector<Member>{member6("2001:2::9")});
  EXPECT_EQ(members.removed, std::vector<Member>{member("198.18.9.2")});
  EXPECT_TRUE(members.changed.empty());
  EXPECT_EQ(patch(a, d), b);

  const auto c = DataplaneState::from_parts(
      {f4, f6}, {}, {{"s", {member("198.18.9.1"), member6("2001:2::9", MemberState::draining)}}});
  const StateDiff d2 = diff(b, c);
  ASSERT_EQ(d2.backend_sets.changed.size(), 1u);
  ASSERT_EQ(d2.backend_sets.changed[0].members.changed.size(), 1u) << "same key, new state";
  EXPECT_EQ(patch(b, d2), c);
  // The same IPv4 address with an IPv6 one added is another member (another key).
  const auto e = DataplaneState::from_parts({f4, f6}, {}, {{"s", {member46("198.18.9.1", "2001:2::1:1"), member6("2001:2::9")}}});
  const StateDiff d3 = diff(b, e);
  EXPECT_EQ(d3.backend_sets.changed.at(0).members.added.size(), 1u);
  EXPECT_EQ(d3.backend_sets.changed.at(0).members.removed.size(), 1u);
  EXPECT_EQ(patch(b, d3), e);
}

TEST(Describe, FormatsAddresses) {
  EXPECT_EQ(to_string(fkey("2001:2::9", 53, Protocol::udp)), "[2001:2::9]:53/udp");
  EXPECT_EQ(to_string(fkey("198.18.0.1", 80)), "198.18.0.1:80/tcp");
  EXPECT_EQ(to_string(NodePortKey{6697, Protocol::tcp}), "node_port 6697/tcp");
  Member m = member("198.18.0.1", MemberState::draining);
  m.ipv6 = portway::testing::ip6("2001:2::1");
  EXPECT_EQ(to_string(m), "198.18.0.1/2001:2::1 draining");
  EXPECT_EQ(to_string(member6("2001:2::1")), "2001:2::1 running");
}

}  // namespace
}  // namespace portway::state
