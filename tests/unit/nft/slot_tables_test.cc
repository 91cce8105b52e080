// The nftables dataplane's slot tables (slot_tables.h): the disruption bound in docs/nftables.md
// "Backend choice" (one backend added or removed moves <= 1.5/N of the assignments) and the balance
// they keep, checked over long random sequences of single additions and removals.
#include "dataplane/nft/slot_tables.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "dataplane/nft/layout.h"
#include "portway/lb_abi.h"

namespace portway::dataplane::nft {
namespace {

state::IpAddress backend(std::uint32_t i) { return net::Ipv4{0xC6120000u + i}; }

std::vector<state::IpAddress> sorted(const std::set<std::uint32_t>& ids) {
  std::vector<state::IpAddress> out;
  for (const auto i : ids) out.push_back(backend(i));
  return out;
}

// The table `t` seen at size `m` (a multiple of its own): the backend of each of m slots.
SlotTable at_size(const SlotTable& t, std::size_t m) {
  SlotTable out(m);
  for (std::size_t i = 0; i < m; ++i) out[i] = t[i / (m / t.size())];
  return out;
}

TEST(NftSlotTables, ANewTableHasOneSlotPerRunningBackend) {
  const auto running = sorted({3, 1, 2});
  EXPECT_EQ(next_slot_table({}, running), running);
  EXPECT_TRUE(next_slot_table({}, {}).empty());
  EXPECT_TRUE(next_slot_table(running, {}).empty());
}

TEST(NftSlotTables, OneBackendAddedOrRemovedMovesAtMostItsShareAndBalanceHolds) {
  std::mt19937 rng(20261204);
  std::set<std::uint32_t> ids{0, 1, 2, 3, 4};
  std::uint32_t next_id = 5;
  SlotTable table = next_slot_table({}, sorted(ids));
  double worst_moved = 0;  // moved share x the larger N
  for (int step = 0; step < 3000; ++step) {
    const bool add = ids.size() <= 1 || (ids.size() < 40 && std::bernoulli_distribution(0.5)(rng));
    std::uint32_t changed = 0;
    if (add) {
      changed = next_id++;
      ids.insert(changed);
    } else {
      auto it = ids.begin();
      std::advance(it, std::uniform_int_distribution<std::size_t>(0, ids.size() - 1)(rng));
      changed = *it;
      ids.erase(it);
    }
    const auto running = sorted(ids);
    const SlotTable next = next_slot_table(table, running);
    const std::size_t m = next.size(), n = running.size();
    ASSERT_EQ(m % table.size(), 0u) << "M only grows, by doubling";
    ASSERT_TRUE(m % n == 0 || m >= 4 * n) << "M = " << m << ", N = " << n;

    // Only the changed backend's share moves: a removed one's slots, or a new one's.
    const SlotTable before = at_size(table, m);
    std::size_t moved = 0;
    for (std::size_t i = 0; i < m; ++i) {
      if (before[i] == next[i]) continue;
      ++moved;
      if (add) ASSERT_EQ(next[i], backend(changed)) << "step " << step;
      else ASSERT_EQ(before[i], backend(changed)) << "step " << step;
    }
    const double share = static_cast<double>(moved) / static_cast<double>(m) * static_cast<double>(add ? n : n + 1);
    worst_moved = std::max(worst_moved, share);
    ASSERT_LE(share, 1.25) << "step " << step << ": " << moved << " of " << m << " slots moved";

    // Every running backend owns M/N slots, or one more; nothing else owns a slot.
    std::map<state::IpAddress, std::size_t> owned;
    for (const auto& a : next) ++owned[a];
    ASSERT_EQ(owned.size(), n);
    for (const auto& a : running) {
      ASSERT_GE(owned[a], m / n);
      ASSERT_LE(owned[a], m / n + 1);
    }
    ASSERT_EQ(next_slot_table(next, running), next) << "a balanced table stays as it is";
    table = next;
  }
  std::cout << "[ moved   ] worst: " << worst_moved << "/N, final M = " << table.size() << " for N = " << ids.size()
            << "\n";
}

TEST(NftSlotTables, OnlyCompleteTablesAreReadBack) {
  ReadBack rb;
  auto& svc = rb.sets["svc_slots"].elements;
  svc = {{"198.19.0.7 . 0", "198.18.10.2"}, {"198.19.0.7 . 1", "198.18.11.2"},
         {"198.19.0.8 . 0", "198.18.10.2"}, {"198.19.0.8 . 2", "198.18.11.2"}};  // slot 1 missing
  rb.sets["np_slots"].elements = {{"tcp . 30080 . 0", "198.18.12.2"}};
  const SlotBook book = read_slot_book(rb);
  EXPECT_EQ(book.size(), 2u);
  EXPECT_EQ(book.at("198.19.0.7"), (SlotTable{*net::parse_ipv4("198.18.10.2"), *net::parse_ipv4("198.18.11.2")}));
  EXPECT_EQ(book.at("tcp . 30080"), SlotTable{*net::parse_ipv4("198.18.12.2")});
}

TEST(NftSlotTables, PickChainsHashLikeTheFastPath) {
  const std::string rule = pick_chain(PickKind::service, 12).rules.at(0);
  char seed[16];
  std::snprintf(seed, sizeof seed, "0x%08x", PW_FLOW_HASH_SEED);
  EXPECT_NE(rule.find(std::string("jhash ip saddr . ip daddr . @th,0,32 . meta l4proto mod 12 seed ") + seed),
            std::string::npos)
      << rule;
  EXPECT_EQ(pick_chain_name(PickKind::node_port, 12), "pick_np_12");
}

}  // namespace
}  // namespace portway::dataplane::nft
