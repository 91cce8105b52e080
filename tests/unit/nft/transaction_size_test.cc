// Transactions sized by what changed: a one-endpoint change writes the same handful of
// elements whether the table serves 50 Services or 5,000, and never rewrites a chain or a set.
#include <gtest/gtest.h>

#include "dataplane/nft/planner.h"
#include "states.h"
#include "table_model.h"

namespace portway::dataplane::nft {
namespace {

using testing::scaled_state;
using testing::with_members;

TransactionSize change_size(const state::DataplaneState& from, const state::DataplaneState& to) {
  SetNumbers numbers = testing::numbers_for(from);
  for (const auto& set : to.backend_sets()) numbers.assign(set.id);
  const auto d = state::diff(from, to);
  const PickUses uses = plan_full(ReadBack{}, from, {}, numbers).uses;
  return plan_incremental(from, InstalledIndex::build(from, uses), to, d, numbers).tx.size();
}

std::vector<state::Member> members_of(const state::DataplaneState& s, const std::string& id) {
  const auto* set = s.find_backend_set(id);
  return {set->members.begin(), set->members.end()};
}

struct Sizes {
  TransactionSize removal, addition, drain;
};

Sizes one_endpoint_changes(unsigned services) {
  const auto s = scaled_state(services, 3, 10);
  const std::string id = "svc/app7/web";
  auto fewer = members_of(s, id);
  fewer.pop_back();  // the highest address: slots 0..8 keep their backend
  auto drained = members_of(s, id);
  drained.back().state = state::MemberState::draining;
  return {change_size(s, with_members(s, id, fewer)), change_size(with_members(s, id, fewer), s),
          change_size(s, with_members(s, id, drained))};
}

TEST(NftTransactionSize, OneEndpointChangeIsIndependentOfTableSize) {
  const Sizes small = one_endpoint_changes(50);
  const Sizes large = one_endpoint_changes(5000);
  EXPECT_EQ(small.removal, large.removal);
  EXPECT_EQ(small.addition, large.addition);
  EXPECT_EQ(small.drain, large.drain);
}

TEST(NftTransactionSize, OneEndpointRemovalTouchesOnlyItsElements) {
  const TransactionSize t = one_endpoint_changes(200).removal;
  // 3 frontends move to pick_svc_9 (delete + add each), slot 9 goes, and the backend's
  // be_pkts, be_new and hairpin elements go. No chain, no set.
  EXPECT_EQ(t.elements_deleted, 3u + 1u + 3u);
  EXPECT_EQ(t.elements_added, 3u);
  EXPECT_EQ(t.chains_written, 0u);
  EXPECT_EQ(t.chains_deleted, 0u);
  EXPECT_EQ(t.sets_created, 0u);
  EXPECT_LE(t.commands, 8u);  // one command per touched set
}

TEST(NftTransactionSize, DrainingKeepsTheBackendsCountersAndFlows) {
  const TransactionSize t = one_endpoint_changes(200).drain;
  // Frontends move to pick_svc_9, slot 9 goes, a draining element appears; be_* stay.
  EXPECT_EQ(t.elements_deleted, 3u + 1u);
  EXPECT_EQ(t.elements_added, 3u + 1u);
}

TEST(NftTransactionSize, AServiceAddedWritesOnlyItsOwnElements) {
  const auto s = scaled_state(100, 3, 10);
  const auto bigger = scaled_state(101, 3, 10);
  const TransactionSize t = change_size(s, bigger);
  // Per frontend: svc_fe, svc_rej, svc_tport, svc_disp (4 x 3); per address: svc_addrs and
  // 10 slots; per backend: be_pkts, be_new, hairpin (3 x 10).
  EXPECT_EQ(t.elements_added, 12u + 11u + 30u);
  EXPECT_EQ(t.elements_deleted, 0u);
  EXPECT_EQ(t.chains_written, 0u);
}

TEST(NftTransactionSize, ASetGrowingPastTheStandingPickChainsGetsItsChain) {
  const auto s = scaled_state(2, 1, kStandingPicks);
  auto more = members_of(s, "svc/app0/web");
  more.push_back({net::Ipv4{0x0AFF0001u}, std::nullopt, state::MemberState::running});
  const auto grown = with_members(s, "svc/app0/web", more);
  EXPECT_EQ(change_size(s, grown).chains_written, 1u);  // pick_svc_33
  EXPECT_EQ(change_size(grown, s).chains_deleted, 1u);
}

}  // namespace
}  // namespace portway::dataplane::nft
