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

// Plans `states` one after the other from an empty table (slot tables carried along, as the
// dataplane does) and returns the size of each change after the first.
std::vector<TransactionSize> change_sizes(const std::vector<state::DataplaneState>& states) {
  SetNumbers numbers;
  for (const auto& s : states)
    for (const auto& set : s.backend_sets()) numbers.assign(set.id);
  FullPlan full = plan_full(ReadBack{}, states.front(), {}, numbers);
  SlotBook slots = std::move(full.slots);
  InstalledIndex index = InstalledIndex::build(states.front(), full.uses);
  std::vector<TransactionSize> sizes;
  for (std::size_t i = 1; i < states.size(); ++i) {
    const auto d = state::diff(states[i - 1], states[i]);
    const IncrementalPlan plan = plan_incremental(states[i - 1], index, slots, states[i], d, numbers);
    plan.update(slots);
    index.apply(d);
    index.uses = plan.uses;
    sizes.push_back(plan.tx.size());
  }
  return sizes;
}

TransactionSize change_size(const state::DataplaneState& from, const state::DataplaneState& to) {
  return change_sizes({from, to}).front();
}

std::vector<state::Member> members_of(const state::DataplaneState& s, const std::string& id) {
  const auto* set = s.find_backend_set(id);
  return {set->members.begin(), set->members.end()};
}

struct Sizes {
  TransactionSize first_removal, addition, removal, drain;
};

// One endpoint of a new 10-backend set leaves (its slot table grows from M = 10 to 40, see
// slot_tables.h), comes back, leaves again, and then drains.
Sizes one_endpoint_changes(unsigned services) {
  const auto s = scaled_state(services, 3, 10);
  const std::string id = "svc/app7/web";
  auto fewer = members_of(s, id);
  fewer.pop_back();
  auto drained = members_of(s, id);
  drained.back().state = state::MemberState::draining;
  const auto without = with_members(s, id, fewer);
  const auto sizes = change_sizes({s, without, s, without, s, with_members(s, id, drained)});
  return {sizes[0], sizes[1], sizes[2], sizes[4]};
}

TEST(NftTransactionSize, OneEndpointChangeIsIndependentOfTableSize) {
  const Sizes small = one_endpoint_changes(50);
  const Sizes large = one_endpoint_changes(5000);
  EXPECT_EQ(small.first_removal, large.first_removal);
  EXPECT_EQ(small.addition, large.addition);
  EXPECT_EQ(small.removal, large.removal);
  EXPECT_EQ(small.drain, large.drain);
}

TEST(NftTransactionSize, OneEndpointChangeTouchesOnlyItsElements) {
  const Sizes t = one_endpoint_changes(200);
  // The first removal: the 3 frontends move to pick_svc_40 (delete + add each), the slot
  // table grows to 40 (9 of the 10 old slot elements change, 30 are new), and the backend's
  // be_pkts, be_new and hairpin elements go.
  EXPECT_EQ(t.first_removal.elements_deleted, 3u + 9u + 3u);
  EXPECT_EQ(t.first_removal.elements_added, 3u + 39u);
  // After that, M stays 40: the backend coming back takes 4 slots from those holding 5, and
  // leaving again gives them back; no frontend element changes.
  EXPECT_EQ(t.addition.elements_deleted, 4u);
  EXPECT_EQ(t.addition.elements_added, 4u + 3u);
  EXPECT_EQ(t.removal.elements_deleted, 4u + 3u);
  EXPECT_EQ(t.removal.elements_added, 4u);
  for (const TransactionSize& c : {t.first_removal, t.addition, t.removal}) {
    EXPECT_EQ(c.chains_written, 0u);
    EXPECT_EQ(c.chains_deleted, 0u);
    EXPECT_EQ(c.sets_created, 0u);
    EXPECT_LE(c.commands, 8u);  // one command per touched set
  }
}

TEST(NftTransactionSize, DrainingKeepsTheBackendsCountersAndFlows) {
  const TransactionSize t = one_endpoint_changes(200).drain;
  // The drained backend's 4 slots go to others, a draining element appears; be_* stay.
  EXPECT_EQ(t.elements_deleted, 4u);
  EXPECT_EQ(t.elements_added, 4u + 1u);
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

TEST(NftTransactionSize, ASlotTableGrowingPastTheStandingPickChainsGetsItsChain) {
  const auto s = scaled_state(2, 1, kStandingPicks);
  auto more = members_of(s, "svc/app0/web");
  more.push_back({net::Ipv4{0x0AFF0001u}, std::nullopt, state::MemberState::running});
  const auto grown = with_members(s, "svc/app0/web", more);
  const auto sizes = change_sizes({s, grown, s});
  EXPECT_EQ(sizes[0].chains_written, 1u);  // M doubles past the standing chains
  EXPECT_EQ(sizes[1].chains_deleted, 0u);  // the table keeps its size when the set shrinks
}

}  // namespace
}  // namespace portway::dataplane::nft
