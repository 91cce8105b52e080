// The planners against a model of the table: an incremental transaction applied to what the
// old state wrote must give exactly what the new state writes (checked over hundreds of
// random changes), and a full plan against any table content must converge on it too.
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "dataplane/nft/planner.h"
#include "dataplane/nft/reconstruct.h"
#include "dataplane/nft/representable.h"
#include "states.h"
#include "table_model.h"

namespace portway::dataplane::nft {
namespace {

using testing::Contents;
using testing::contents_of;
using testing::member;
using testing::replay;

// Random edits of a small world: 6 services, addresses 198.19.0.1-6, backends from a pool of
// 12 addresses (so sets share some), node ports 30001-30004.
class RandomWorld {
 public:
  // dual: each backend has one family or both (fixed per backend: b % 3 == 0 IPv4 only,
  // 1 IPv6 only, 2 both), and every Service address has an IPv6 twin.
  explicit RandomWorld(unsigned seed, bool dual = false) : rng_(seed), dual_(dual) {}

  state::DataplaneState next() {
    std::vector<state::BackendSet> sets;
    std::vector<state::Frontend> fes;
    std::vector<state::NodePort> nps;
    for (unsigned s = 0; s < 6; ++s) {
      if (coin(0.2)) continue;  // this Service does not exist this round
      const std::string id = "svc/a" + std::to_string(s) + "/x";
      state::BackendSet set{id, {}};
      for (unsigned b = 0; b < 12; ++b) {
        if (!coin(0.3)) continue;
        state::Member m{net::Ipv4{0xC6120A00u + b}, std::nullopt,
                        coin(0.25) ? state::MemberState::draining : state::MemberState::running};
        if (dual_ && b % 3 != 0) m.ipv6 = *net::parse_ipv6("2001:2:a::" + std::to_string(b + 1));
        if (dual_ && b % 3 == 1) m.ipv4.reset();
        set.members.push_back(std::move(m));
      }
      const net::Ipv4 addr{0xC6130001u + s};
      for (std::uint16_t p = 0; p < 3; ++p) {
        if (coin(0.3)) continue;
        const auto proto = coin(0.5) ? config::Protocol::tcp : config::Protocol::udp;
        fes.push_back({{addr, static_cast<std::uint16_t>(80 + p), proto},
                       static_cast<std::uint16_t>(coin(0.5) ? 7000 : 7100 + p), id, "p"});
        if (dual_ && coin(0.7))
          fes.push_back({{*net::parse_ipv6("2001:2:1::" + std::to_string(s + 1)), fes.back().key.port, proto},
                         fes.back().target_port, id, "p"});
        if (coin(0.2)) {
          const state::NodePortKey k{static_cast<std::uint16_t>(30001 + s % 4), proto};
          if (std::none_of(nps.begin(), nps.end(), [&](const auto& n) { return n.key == k; }))
            nps.push_back({k, fes.back().target_port, id, "p"});
        }
      }
      sets.push_back(std::move(set));
    }
    // Unused sets are not representable; keep only used ones (what representable() does).
    std::erase_if(sets, [&](const state::BackendSet& b) {
      return std::none_of(fes.begin(), fes.end(), [&](const auto& f) { return f.backend_set == b.id; }) &&
             std::none_of(nps.begin(), nps.end(), [&](const auto& n) { return n.backend_set == b.id; });
    });
    // Frontends keyed alike collapse: keep the first.
    std::sort(fes.begin(), fes.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    fes.erase(std::unique(fes.begin(), fes.end(), [](const auto& a, const auto& b) { return a.key == b.key; }),
              fes.end());
    return state::DataplaneState::from_parts(std::move(fes), std::move(nps), std::move(sets));
  }

 private:
  bool coin(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::mt19937 rng_;
  bool dual_ = false;
};

PickUses uses_of(const Contents& c) {
  PickUses u;
  for (const auto set : {SetName::svc_disp, SetName::np_disp, SetName::svc_disp6, SetName::np_disp6}) {
    for (const auto& [k, data] : c[static_cast<std::size_t>(set)]) {
      PickKind kind;
      std::uint32_t n = 0;
      EXPECT_TRUE(parse_pick_chain(std::string_view(data).substr(5), kind, n)) << data;
      ++u[static_cast<std::size_t>(kind)][n];
    }
  }
  return u;
}

// A read-back table with exactly these contents and portway's skeleton.
ReadBack table_holding_contents(const Contents& c) {
  ReadBack rb;
  rb.table = true;
  for (const SetDef& d : set_defs()) {
    SetReadBack& set = rb.sets[std::string(d.name)];
    set.signature = signature(d);
    for (const auto& [k, v] : c[static_cast<std::size_t>(d.id)]) set.elements[k] = v;
  }
  for (const ChainDef& ch : skeleton_chains()) rb.chains[ch.name] = {ch.type, ch.hook, ch.priority, "accept", ch.rules.size()};
  for (std::size_t k = 0; k < kPickKinds; ++k)
    for (std::uint32_t n = 1; n <= kStandingPicks; ++n) rb.chains[pick_chain_name(static_cast<PickKind>(k), n)] = {"", "", 0, "", 1};
  for (const auto name : kDropCounters) rb.counters[std::string(name)] = {};
  return rb;
}

// ... and with the contents of `s` (new slot tables).
ReadBack table_holding(const state::DataplaneState& s, const SetNumbers& numbers) {
  return table_holding_contents(contents_of(s, numbers));
}

void expect_incremental_plans_converge(RandomWorld& world, bool check_read_back) {
  state::DataplaneState installed;
  SetNumbers numbers;
  InstalledIndex index = InstalledIndex::build(installed, {});
  Contents table;
  SlotBook slots;
  for (int round = 0; round < 300; ++round) {
    // What the dataplane writes: the representable part (a set keeps the members of the
    // families its frontends use).
    const state::DataplaneState raw = world.next();
    const Representable rep = representable(raw);
    const state::DataplaneState desired = rep.of(raw);
    const state::StateDiff d = state::diff(installed, desired);
    for (const auto& set : d.backend_sets.added) numbers.assign(set.id);
    const IncrementalPlan plan = plan_incremental(installed, index, slots, desired, d, numbers);
    plan.update(slots);
    ASSERT_NO_THROW(replay(table, plan.tx)) << "round " << round;
    ASSERT_EQ(table, contents_of(desired, numbers, slots)) << "round " << round;
    // What a later process reads back is what it carries on: a full plan changes nothing.
    ASSERT_EQ(read_slot_book(table_holding_contents(table)), slots) << "round " << round;
    const FullPlan full = plan_full(table_holding_contents(table), desired, {}, numbers);
    ASSERT_EQ(full.tx.size().elements_added + full.tx.size().elements_deleted, 0u) << "round " << round;
    ASSERT_EQ(full.slots, slots) << "round " << round;
    ASSERT_EQ(plan.uses, uses_of(table)) << "round " << round;
    if (check_read_back) {
      // Every member comes back with its families: IPv6-only ones from IPv6 slots and
      // draining6, IPv4-only ones without an IPv6 address, dual ones paired by be_addr6.
      const Reconstructed back = reconstruct(table_holding_contents(table), numbers, &desired);
      ASSERT_TRUE(back.problems.empty()) << back.problems.front() << " round " << round;
      ASSERT_EQ(back.state, desired) << "round " << round;
    }
    index.apply(d);
    index.uses = plan.uses;
    for (const auto& set : d.backend_sets.removed) numbers.release(set.id);
    installed = desired;
    const InstalledIndex rebuilt = InstalledIndex::build(installed, plan.uses);
    ASSERT_EQ(index.member_refs, rebuilt.member_refs) << "round " << round;
  }
}

TEST(NftPlanner, IncrementalTransactionsTurnTheOldTableIntoTheNewOne) {
  RandomWorld world(20261127);
  expect_incremental_plans_converge(world, false);
}

// docs/model.md "Address families": members of one family or both, in sets with IPv4 and IPv6
// frontends; the table also reads back as the state it was written from.
TEST(NftPlanner, MembersOfEitherFamilyConvergeAndReadBack) {
  RandomWorld world(20261205, true);
  expect_incremental_plans_converge(world, true);
}

TEST(NftPlanner, NothingChangedMeansAnEmptyTransaction) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  const auto plan = plan_incremental(s, InstalledIndex::build(s, {}), {}, s, state::diff(s, s), numbers);
  EXPECT_TRUE(plan.tx.empty());
}

TEST(NftPlanner, FullPlanOfAnIntactTableChangesNoElement) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  const FullPlan plan = plan_full(table_holding(s, numbers), s, {}, numbers);
  EXPECT_EQ(plan.tx.size().elements_added, 0u);
  EXPECT_EQ(plan.tx.size().elements_deleted, 0u);
  EXPECT_EQ(plan.tx.size().sets_created, 0u);
  EXPECT_TRUE(plan.structure.empty());
  EXPECT_EQ(plan.element_differences(), 0u);
}

TEST(NftPlanner, FullPlanRepairsMissingExtraAndWrongElements) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  ReadBack rb = table_holding(s, numbers);
  rb.sets["svc_fe"].elements.erase("198.19.0.7 . tcp . 6667");                 // missing
  rb.sets["be_pkts"].elements["10.9.9.9"] = "";                                // extra
  rb.sets["svc_tport"].elements["198.19.0.7 . tcp . 6697"] = "1";              // wrong
  Contents model = contents_of(s, numbers);
  Contents seen;  // what the kernel held
  for (const SetDef& d : set_defs())
    for (const auto& [k, v] : rb.sets[std::string(d.name)].elements) seen[static_cast<std::size_t>(d.id)][k] = v;

  const FullPlan plan = plan_full(rb, s, {}, numbers);
  EXPECT_EQ(plan.elements_missing, 1u);
  EXPECT_EQ(plan.elements_extra, 1u);
  EXPECT_EQ(plan.elements_changed, 1u);
  replay(seen, plan.tx);
  EXPECT_EQ(seen, model);
}

TEST(NftPlanner, FullPlanRecreatesRetypedSetsAndDeletesOrphans) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  ReadBack rb = table_holding(s, numbers);
  rb.sets["svc_slots"].signature = "k8 d16";  // somebody re-created it with another type
  rb.sets["intruder"].signature = "k4 d-";
  rb.chains["intruder_chain"] = {};
  const std::string unused_pick = pick_chain_name(PickKind::service, kStandingPicks + 12);
  rb.chains[unused_pick] = {"", "", 0, "", 1};  // unused beyond the standing ones: no drift
  rb.counters["intruder_counter"] = {};
  rb.chains.erase("dispatch");

  const FullPlan plan = plan_full(rb, s, {}, numbers);
  const std::string text = plan.tx.text();
  EXPECT_NE(text.find("delete set inet portway svc_slots\n"), std::string::npos);
  EXPECT_NE(text.find("add map inet portway svc_slots {"), std::string::npos);
  EXPECT_NE(text.find("delete set inet portway intruder\n"), std::string::npos);
  EXPECT_NE(text.find("delete chain inet portway intruder_chain\n"), std::string::npos);
  EXPECT_NE(text.find("delete chain inet portway " + unused_pick + "\n"), std::string::npos);
  EXPECT_NE(text.find("delete counter inet portway intruder_counter\n"), std::string::npos);
  EXPECT_NE(text.find("add chain inet portway dispatch {"), std::string::npos);
  // The flushes come before every deletion, so no rule still refers to what is deleted.
  EXPECT_LT(text.find("flush chain"), text.find("delete set"));
  ASSERT_EQ(plan.structure.size(), 5u);  // retyped set, orphan set, orphan counter, missing chain, orphan chain
}

TEST(NftPlanner, NodeAddressesAreElementsOfTheirOwnAndTheirChangeIsNoDrift) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  const net::Ipv4 a = *net::parse_ipv4("198.18.0.1"), b = *net::parse_ipv4("198.18.0.9"),
                  c = *net::parse_ipv4("198.18.0.5");
  ReadBack rb = table_holding(s, numbers);
  rb.sets["node_addrs"].elements = {{"198.18.0.1", ""}, {"198.18.0.5", ""}};

  const FullPlan plan = plan_full(rb, s, {{a, b}, {}}, numbers);
  using Keys = std::vector<std::string>;
  EXPECT_EQ(plan.tx.added(SetName::node_addrs), Keys{"198.18.0.9"});
  EXPECT_EQ(plan.tx.deleted(SetName::node_addrs), Keys{"198.18.0.5"});
  EXPECT_EQ(plan.tx.size().elements_added + plan.tx.size().elements_deleted, 2u);
  EXPECT_TRUE(plan.node_addresses_changed);
  EXPECT_EQ(plan.element_differences(), 0u) << "the settings changed, not the table behind portway's back";

  rb = table_holding(s, numbers);
  rb.sets["node_addrs"].elements = {{"198.18.0.1", ""}, {"198.18.0.9", ""}};
  EXPECT_FALSE(plan_full(rb, s, {{a, b}, {}}, numbers).node_addresses_changed);

  Transaction tx;
  plan_node_addresses({{a, c}, {}}, {{a, b}, {}}, tx);
  EXPECT_EQ(tx.deleted(SetName::node_addrs), Keys{"198.18.0.5"});
  EXPECT_EQ(tx.added(SetName::node_addrs), Keys{"198.18.0.9"});

  // IPv6 node addresses are node_addrs6's elements, with the same rules.
  const net::Ipv6 v6a = *net::parse_ipv6("2001:2::1"), v6b = *net::parse_ipv6("2001:2::9");
  rb = table_holding(s, numbers);
  rb.sets["node_addrs"].elements = {{"198.18.0.1", ""}};
  rb.sets["node_addrs6"].elements = {{"2001:2::1", ""}};
  const FullPlan plan6 = plan_full(rb, s, {{a}, {v6b}}, numbers);
  EXPECT_EQ(plan6.tx.added(SetName::node_addrs6), Keys{"2001:2::9"});
  EXPECT_EQ(plan6.tx.deleted(SetName::node_addrs6), Keys{"2001:2::1"});
  EXPECT_TRUE(plan6.node_addresses_changed);
  EXPECT_EQ(plan6.element_differences(), 0u);
  Transaction tx6;
  plan_node_addresses({{a}, {v6a}}, {{a}, {v6a, v6b}}, tx6);
  EXPECT_EQ(tx6.added(SetName::node_addrs6), Keys{"2001:2::9"});
  EXPECT_TRUE(tx6.deleted(SetName::node_addrs6).empty());
}

TEST(NftPlanner, SetNumbersAreStableStickyAndNeverZero) {
  EXPECT_EQ(preferred_set_number("svc/irc/irc"), preferred_set_number("svc/irc/irc"));
  EXPECT_NE(preferred_set_number("svc/a-b/c"), preferred_set_number("svc/a/b-c"));
  SetNumbers n;
  const auto a = n.assign("svc/irc/irc");
  EXPECT_NE(a, 0u);
  EXPECT_EQ(n.assign("svc/irc/irc"), a);
  EXPECT_EQ(*n.id_of(a), "svc/irc/irc");
  n.release("svc/irc/irc");
  EXPECT_EQ(n.id_of(a), nullptr);
  EXPECT_EQ(placeholder_set_id(0xabcdef01u), "nft-set-abcdef01");
}

TEST(NftPlanner, CollidingNumbersAreProbedAndKept) {
  // Two ids with one preferred number (a 32-bit birthday: found within ~10^5 tries).
  std::unordered_map<std::uint32_t, std::string> seen;
  std::string first, second;
  for (unsigned i = 0; second.empty(); ++i) {
    std::string id = "svc/c/" + std::to_string(i);
    const auto [it, fresh] = seen.emplace(preferred_set_number(id), id);
    if (!fresh) {
      first = it->second;
      second = std::move(id);
    }
  }
  SetNumbers n;
  const auto a = n.assign(first);
  const auto b = n.assign(second);
  EXPECT_EQ(a, preferred_set_number(first));
  EXPECT_NE(a, b);
  n.release(first);
  EXPECT_EQ(n.assign(second), b) << "a number sticks to its id while it is installed";
  EXPECT_EQ(n.assign(first), a);
}

}  // namespace
}  // namespace portway::dataplane::nft

namespace portway::dataplane::nft {
namespace {

// Comments (comment.h): an element whose comment names another Service or port is rewritten;
// one without a comment (a table written before comments existed) is kept, counters and all
// (FullPlanOfAnIntactTableChangesNoElement: the model holds no comments).
TEST(NftPlannerComments, FullPlanRewritesAnElementWithAStaleComment) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  ReadBack rb = table_holding(s, numbers);
  rb.sets["svc_fe"].comments["198.19.0.7 . tcp . 6667"] = "svc/irc/irc:irc";  // right
  rb.sets["svc_fe"].comments["198.19.0.7 . tcp . 6697"] = "svc/old/name:x";   // stale
  const FullPlan plan = plan_full(rb, s, {}, numbers);
  EXPECT_EQ(plan.elements_changed, 1u);
  EXPECT_EQ(plan.tx.deleted(SetName::svc_fe), std::vector<std::string>{"198.19.0.7 . tcp . 6697"});
  EXPECT_EQ(plan.tx.added(SetName::svc_fe),
            std::vector<std::string>{"198.19.0.7 . tcp . 6697 comment \"svc/irc/irc:ircs\""});
}

TEST(NftPlannerComments, IncrementalPlanRewritesElementsWhenOnlyTheirCommentChanges) {
  const auto before = testing::small_state();
  std::vector<state::Frontend> fes(before.frontends().begin(), before.frontends().end());
  for (auto& f : fes)
    if (f.port_name == "irc") f.port_name = "chat";
  const auto after = state::DataplaneState::from_parts(
      std::move(fes), {before.node_ports().begin(), before.node_ports().end()},
      {before.backend_sets().begin(), before.backend_sets().end()});
  const auto numbers = testing::numbers_for(before);
  const auto plan =
      plan_incremental(before, InstalledIndex::build(before, {}), {}, after, state::diff(before, after), numbers);
  const std::string key = "198.19.0.7 . tcp . 6667";
  EXPECT_EQ(plan.tx.deleted(SetName::svc_fe), std::vector<std::string>{key});
  EXPECT_EQ(plan.tx.added(SetName::svc_fe), std::vector<std::string>{key + " comment \"svc/irc/irc:chat\""});
  EXPECT_EQ(plan.tx.added(SetName::svc_tport), std::vector<std::string>{key + " comment \"svc/irc/irc:chat\" : 6667"});
}

TEST(NftPlannerComments, TransactionsRefuseCommentsThatAreNotSafe) {
  Transaction tx;
  EXPECT_THROW(tx.add_element(SetName::svc_fe, "198.19.0.7 . tcp . 80", "", "a\" }; flush ruleset; #"), std::logic_error);
  EXPECT_THROW(tx.add_element(SetName::svc_fe, "198.19.0.7 . tcp . 80", "", "line\nbreak"), std::logic_error);
  EXPECT_THROW(tx.add_element(SetName::svc_fe, "198.19.0.7 . tcp . 80", "", std::string(129, 'a')), std::logic_error);
  EXPECT_NO_THROW(tx.add_element(SetName::svc_fe, "198.19.0.7 . tcp . 80", "", std::string(128, 'a')));
  EXPECT_EQ(tx.size().elements_added, 1u);
}

}  // namespace
}  // namespace portway::dataplane::nft
