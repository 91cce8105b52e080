// Which conntrack entries a change ends: those of removed backends (UDP and TCP) and of
// removed frontends; never those of a backend that only started draining.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "dataplane/nft/flow_ends.h"
#include "states.h"

namespace portway::dataplane::nft {
namespace {

using conntrack::FlowMatch;
using conntrack::FlowTuple;
using testing::ip;
using testing::member;
using testing::with_members;

FlowTuple dnat_flow(const char* frontend, std::uint16_t dport, const char* backend, std::uint16_t target,
                    std::uint8_t proto = IPPROTO_UDP) {
  return {proto, ip(frontend), dport, ip(backend), target, true};
}

TEST(NftFlowEnds, RemovedBackendEndsItsFlowsOnEveryPortOfTheSet) {
  const auto s = testing::small_state();
  const auto after = with_members(s, "svc/irc/irc", {member("198.18.10.2")});  // 11.2 and 12.2 go
  const auto matches = flows_to_end(s, state::diff(s, after));
  // DNS over UDP to 11.2, IRC over TCP to 11.2, the node port, and the same for 12.2.
  EXPECT_TRUE(conntrack::matches_any(matches, dnat_flow("198.19.0.7", 53, "198.18.11.2", 5353)));
  EXPECT_TRUE(conntrack::matches_any(matches, dnat_flow("198.19.0.7", 6697, "198.18.11.2", 7000, IPPROTO_TCP)));
  EXPECT_TRUE(conntrack::matches_any(matches, dnat_flow("198.18.0.1", 30697, "198.18.12.2", 7000, IPPROTO_TCP)));
  // The backend that stays, and flows that were never NATed, are left alone.
  EXPECT_FALSE(conntrack::matches_any(matches, dnat_flow("198.19.0.7", 53, "198.18.10.2", 5353)));
  FlowTuple direct = dnat_flow("198.18.11.2", 5353, "198.18.11.2", 5353);
  direct.dnat = false;
  EXPECT_FALSE(conntrack::matches_any(matches, direct));
  EXPECT_FALSE(conntrack::matches_any(matches, dnat_flow("198.19.0.7", 53, "198.18.11.2", 9999)));
}

TEST(NftFlowEnds, DrainingEndsNothing) {
  const auto s = testing::small_state();
  const auto after = with_members(s, "svc/irc/irc",
                                  {member("198.18.10.2", state::MemberState::draining), member("198.18.11.2"),
                                   member("198.18.12.2", state::MemberState::draining)});
  EXPECT_TRUE(flows_to_end(s, state::diff(s, after)).empty());
}

TEST(NftFlowEnds, RemovedFrontendEndsTheFlowsThatCameThroughIt) {
  const auto s = testing::small_state();
  std::vector<state::Frontend> fes(s.frontends().begin(), s.frontends().end());
  std::erase_if(fes, [](const state::Frontend& f) { return f.key.port == 53; });
  const auto after = state::DataplaneState::from_parts(fes, {s.node_ports().begin(), s.node_ports().end()},
                                                       {s.backend_sets().begin(), s.backend_sets().end()});
  const auto matches = flows_to_end(s, state::diff(s, after));
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_TRUE(matches[0].matches(dnat_flow("198.19.0.7", 53, "198.18.10.2", 5353)));
  EXPECT_FALSE(matches[0].matches(dnat_flow("198.19.0.7", 53, "198.18.10.2", 5353, IPPROTO_TCP)));
}

TEST(NftFlowEnds, AnEmptyMatchNeverMatchesAnUnNatedFlow) {
  const FlowMatch any{IPPROTO_UDP, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  FlowTuple t = dnat_flow("1.1.1.1", 1, "2.2.2.2", 2);
  EXPECT_TRUE(any.matches(t));
  t.dnat = false;
  EXPECT_FALSE(any.matches(t));
}

}  // namespace
}  // namespace portway::dataplane::nft
