// Linear probing over allocations (pure, table-driven) and allocation through the real store:
// deterministic, never network/broadcast, clear exhaustion, released on delete.
#include <gtest/gtest.h>

#include <set>

#include "model/errors.h"
#include "model/ip_allocator.h"
#include "model_support/fixtures.h"

namespace portway::model {
namespace {

using testing::ip4;
using testing::v4;
using testing::v6;

// The allocated offsets of a std::set, honouring the range and the limit like the store.
AllocatedOffsets from_set(const std::set<std::uint64_t>& taken, int* calls = nullptr) {
  return [&taken, calls](std::uint64_t from, std::uint64_t to, std::size_t limit) {
    if (calls) ++*calls;
    std::vector<std::uint64_t> out;
    for (auto it = taken.lower_bound(from); it != taken.end() && *it <= to && out.size() < limit; ++it) {
      out.push_back(*it);
    }
    return out;
  };
}

std::set<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::set<std::uint64_t> s;
  for (auto i = from; i <= to; ++i) s.insert(i);
  return s;
}

TEST(Probe, TableOfCases) {
  struct Case {
    const char* what;
    std::set<std::uint64_t> taken;
    std::uint64_t first, last, preferred;
    std::optional<std::uint64_t> want;
  } cases[] = {
      {"empty pool: the preferred offset", {}, 1, 100, 40, 40},
      {"preferred taken: the next one", {40}, 1, 100, 40, 41},
      {"a run: the first gap after it", {40, 41, 42, 44}, 1, 100, 40, 43},
      {"taken up to the end: wrap to the start", range(90, 100), 1, 100, 90, 1},
      {"wrap skips taken start offsets", [] { auto s = range(90, 100); s.insert(1); s.insert(2); return s; }(), 1, 100, 90, 3},
      {"only a slot before preferred is free", [] { auto s = range(1, 100); s.erase(17); return s; }(), 1, 100, 60, 17},
      {"full pool", range(1, 100), 1, 100, 60, std::nullopt},
      {"preferred is first and taken, full", range(1, 2), 1, 2, 1, std::nullopt},
      {"run longer than one batch", range(5, 5 + 700), 1, 10000, 5, 706},
      {"run ending exactly at a batch edge", range(5, 5 + 255), 1, 10000, 5, 261},
      {"pool ending at 2^64 - 1", {~std::uint64_t{0} - 1}, 1, ~std::uint64_t{0}, ~std::uint64_t{0} - 1, ~std::uint64_t{0}},
      {"last offset taken at 2^64 - 1: wrap", {~std::uint64_t{0}}, 1, ~std::uint64_t{0}, ~std::uint64_t{0}, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(probe(c.first, c.last, c.preferred, from_set(c.taken)), c.want);
  }
}

TEST(Probe, CostFollowsTheRunNotThePool) {
  const auto taken = range(1000, 1009);
  int calls = 0;
  EXPECT_EQ(probe(1, 1u << 30, 1000, from_set(taken, &calls)), 1010u);
  EXPECT_EQ(calls, 1) << "one range query for a short run";
  calls = 0;
  const auto long_run = range(1, 2000);
  EXPECT_EQ(probe(1, 1u << 30, 1, from_set(long_run, &calls)), 2001u);
  EXPECT_EQ(calls, 8) << "2000 taken offsets in batches of 256";
}

TEST(FirstFree, EmptyRangeHasNothing) { EXPECT_EQ(first_free(5, 4, from_set({})), std::nullopt); }

class AllocatorTest : public testing::StoreTest {
 protected:
  // A Service with no ports for the allocation tests: only the addresses matter here.
  void add_service(store::Transaction& tx, const std::string& name, net::Ipv4 a,
                   std::optional<net::Ipv6> a6 = std::nullopt) {
    store::ServiceRecord s;
    s.id = "svc/a/" + name;
    s.app = "a";
    s.service = name;
    s.selector = {"a", name};
    s.ipv4 = a;
    s.ipv6 = a6;
    s.revision = 1;
    tx.put_service(s);
  }
  void SetUp() override {
    StoreTest::SetUp();
    auto tx = store_->begin_write();
    tx->put_app({"a", "", "{}", 1, 0});
    tx->commit();
  }
};

TEST_F(AllocatorTest, TinyPoolExhaustsWithAClearError) {
  const Ipv4Pool pool(v4("198.18.0.0/30"));
  auto tx = store_->begin_write();
  std::set<net::Ipv4> got;
  for (const char* name : {"x", "y"}) {
    const auto a = allocate_ipv4(*tx, pool, std::string("svc/a/") + name);
    got.insert(a);
    add_service(*tx, name, a);
  }
  EXPECT_EQ(got, (std::set<net::Ipv4>{ip4("198.18.0.1"), ip4("198.18.0.2")}));
  try {
    allocate_ipv4(*tx, pool, "svc/a/z");
    FAIL() << "a third address came out of a /30";
  } catch (const AllocationError& e) {
    EXPECT_STREQ(e.what(),
                 "no free IPv4 address: all 2 usable addresses of service_cidr 198.18.0.0/30 are "
                 "allocated (widen it in the node settings, or delete an app)");
  }
}

TEST_F(AllocatorTest, FillingAPoolNeverHandsOutNetworkOrBroadcast) {
  const Ipv4Pool pool(v4("198.18.0.8/29"));
  auto tx = store_->begin_write();
  std::set<net::Ipv4> got;
  for (int i = 0; i < 6; ++i) {
    const auto a = allocate_ipv4(*tx, pool, "svc/a/s" + std::to_string(i));
    EXPECT_TRUE(got.insert(a).second) << "handed out twice: " << net::to_string(a);
    add_service(*tx, "s" + std::to_string(i), a);
  }
  EXPECT_EQ(got.size(), 6u);
  EXPECT_FALSE(got.count(ip4("198.18.0.8")));
  EXPECT_FALSE(got.count(ip4("198.18.0.15")));
  EXPECT_THROW(allocate_ipv4(*tx, pool, "svc/a/s6"), AllocationError);
}

TEST_F(AllocatorTest, FreesOnDeleteAndIsDeterministic) {
  const Ipv4Pool pool(v4("198.18.0.0/24"));
  auto tx = store_->begin_write();
  const auto first = allocate_ipv4(*tx, pool, "svc/a/x");
  EXPECT_EQ(first, pool.address(pool.preferred("svc/a/x")));
  add_service(*tx, "x", first);
  // Someone else holding x's preferred address pushes x to the next one.
  tx->delete_service("svc/a/x");
  add_service(*tx, "squatter", first);
  const auto second = allocate_ipv4(*tx, pool, "svc/a/x");
  EXPECT_EQ(second.value, first.value + 1);
  // Once released, x gets its preferred address back.
  tx->delete_service("svc/a/squatter");
  EXPECT_EQ(allocate_ipv4(*tx, pool, "svc/a/x"), first);
}

TEST_F(AllocatorTest, Ipv6FromTheConfiguredPrefix) {
  const Ipv6Pool pool(v6("2001:2::/126"));
  auto tx = store_->begin_write();
  std::set<net::Ipv6> got;
  for (int i = 0; i < 3; ++i) {
    const auto a = allocate_ipv6(*tx, pool, "svc/a/s" + std::to_string(i));
    got.insert(a);
    add_service(*tx, "s" + std::to_string(i), net::Ipv4{0xC6120001u + static_cast<std::uint32_t>(i)}, a);
  }
  EXPECT_EQ(got, (std::set<net::Ipv6>{testing::ip6("2001:2::1"), testing::ip6("2001:2::2"),
                                      testing::ip6("2001:2::3")}));
  EXPECT_THROW(allocate_ipv6(*tx, pool, "svc/a/s3"), AllocationError);
}

TEST_F(AllocatorTest, NeverHandsOutTheNodesOwnAddresses) {
  const Ipv4Pool pool(v4("198.18.0.0/29"));
  auto tx = store_->begin_write();
  // The node holds two addresses of the pool, one of them some Service's preferred one.
  const net::Ipv4 preferred = pool.address(pool.preferred("svc/a/s0"));
  const std::vector<net::Ipv4> node{preferred, ip4("198.18.0.6")};
  std::set<net::Ipv4> got;
  for (int i = 0; i < 4; ++i) {
    const auto a = allocate_ipv4(*tx, pool, "svc/a/s" + std::to_string(i), node);
    EXPECT_TRUE(got.insert(a).second);
    add_service(*tx, "s" + std::to_string(i), a);
  }
  EXPECT_FALSE(got.count(preferred));
  EXPECT_FALSE(got.count(ip4("198.18.0.6")));
  EXPECT_THROW(allocate_ipv4(*tx, pool, "svc/a/s4", node), AllocationError)
      << "6 usable, 2 of them the node's, 4 allocated";
}

TEST_F(AllocatorTest, NodeAddressesAcrossBatchesAreSkipped) {
  // More allocations than one probe batch (256), with the node's addresses among them.
  const Ipv4Pool pool(v4("198.18.0.0/22"));
  auto tx = store_->begin_write();
  for (std::uint32_t i = 1; i <= 300; ++i) add_service(*tx, "f" + std::to_string(i), net::Ipv4{0xC6120000u + i});
  const std::vector<net::Ipv4> node{net::Ipv4{0xC6120000u + 301}, net::Ipv4{0xC6120000u + 100}};
  const auto a = allocate_ipv4(*tx, pool, "svc/a/new", node);
  // Wherever its preferred address is, it is neither allocated nor the node's.
  EXPECT_FALSE(a.value >= 0xC6120001u && a.value <= 0xC6120000u + 301) << net::to_string(a);
}

TEST_F(AllocatorTest, Ipv6NeverTheNodesOwn) {
  const Ipv6Pool pool(v6("2001:2::/126"));
  auto tx = store_->begin_write();
  const std::vector<net::Ipv6> node{testing::ip6("2001:2::2")};
  std::set<net::Ipv6> got;
  for (int i = 0; i < 2; ++i) {
    const auto a = allocate_ipv6(*tx, pool, "svc/a/s" + std::to_string(i), node);
    got.insert(a);
    add_service(*tx, "s" + std::to_string(i), net::Ipv4{0xC6120001u + static_cast<std::uint32_t>(i)}, a);
  }
  EXPECT_EQ(got, (std::set<net::Ipv6>{testing::ip6("2001:2::1"), testing::ip6("2001:2::3")}));
}

}  // namespace
}  // namespace portway::model
