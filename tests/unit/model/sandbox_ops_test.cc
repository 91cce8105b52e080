// Registering, re-stating and removing sandboxes in the store.
#include <gtest/gtest.h>

#include <regex>

#include "model/errors.h"
#include "model/sandbox_ops.h"
#include "model_support/fixtures.h"

namespace portway::model {
namespace {

store::SandboxRecord record(const std::string& id) {
  return {id, "irc", "irc", {{"app", "irc"}, {"service", "irc"}}, testing::ip4("198.18.10.2"), {}, "", store::SandboxState::running, 5};
}

class SandboxOpsTest : public testing::StoreTest {};

TEST_F(SandboxOpsTest, AddGeneratesAnIdWhenNoneIsGiven) {
  auto tx = store_->begin_write();
  const auto a = add_sandbox(*tx, record(""));
  auto second = record("");
  second.ipv4 = testing::ip4("198.18.10.3");
  const auto b = add_sandbox(*tx, second);
  tx->commit();
  EXPECT_TRUE(std::regex_match(a.id, std::regex("sb-[0-9a-f]{16}"))) << a.id;
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(store_->begin_read()->find_sandbox(a.id), a);
}

TEST_F(SandboxOpsTest, ADuplicateIdIsRejectedAndNothingChanges) {
  {
    auto tx = store_->begin_write();
    add_sandbox(*tx, record("sb-1"));
    tx->commit();
  }
  auto other = record("sb-1");
  other.ipv4 = testing::ip4("198.18.10.99");
  auto tx = store_->begin_write();
  EXPECT_THROW(add_sandbox(*tx, other), Rejected);
  EXPECT_EQ(tx->find_sandbox("sb-1")->ipv4, testing::ip4("198.18.10.2"));
}

std::vector<std::string> rejection(store::Transaction& tx, const store::SandboxRecord& r,
                                   const std::vector<net::InterfaceAddress>& node = {}) {
  try {
    add_sandbox(tx, r, node);
  } catch (const Rejected& e) {
    return e.reasons();
  }
  return {};
}

TEST_F(SandboxOpsTest, AnotherSandboxsAddressIsRefused) {
  auto tx = store_->begin_write();
  auto first = record("sb-1");
  first.ipv6 = testing::ip6("2001:2::10");
  add_sandbox(*tx, first);
  auto same_v4 = record("sb-2");
  EXPECT_EQ(rejection(*tx, same_v4),
            std::vector<std::string>{"--ip 198.18.10.2 is already the address of sandbox \"sb-1\" "
                                     "(remove that one first, or give this sandbox its own address)"});
  auto same_v6 = record("sb-3");
  same_v6.ipv4 = testing::ip4("198.18.10.3");
  same_v6.ipv6 = testing::ip6("2001:2::10");
  ASSERT_EQ(rejection(*tx, same_v6).size(), 1u);
  EXPECT_EQ(rejection(*tx, same_v6)[0].substr(0, 45), "--ip6 2001:2::10 is already the address of sa");
  EXPECT_FALSE(tx->find_sandbox("sb-2"));
  EXPECT_FALSE(tx->find_sandbox("sb-3"));
}

TEST_F(SandboxOpsTest, AServiceAddressIsRefused) {
  auto tx = store_->begin_write();
  tx->put_app({"web", "", "{}", 1, 0});
  store::ServiceRecord svc;
  svc.id = "svc/web/www";
  svc.app = "web";
  svc.service = "www";
  svc.selector = {"web", "www"};
  svc.ipv4 = testing::ip4("198.19.0.7");
  svc.revision = 1;
  tx->put_service(svc);
  auto r = record("sb-1");
  r.ipv4 = testing::ip4("198.19.0.7");
  EXPECT_EQ(rejection(*tx, r),
            std::vector<std::string>{"--ip 198.19.0.7 is the service address of svc/web/www; a sandbox "
                                     "needs an address of its own, outside the service ranges"});
  EXPECT_FALSE(tx->find_sandbox("sb-1"));
}

TEST_F(SandboxOpsTest, TheNodesOwnAddressIsRefused) {
  auto tx = store_->begin_write();
  const std::vector<net::InterfaceAddress> node{{"up0", testing::ip4("198.18.10.2")}};
  EXPECT_EQ(rejection(*tx, record("sb-1"), node),
            std::vector<std::string>{"--ip 198.18.10.2 is an address of this node (up0); a sandbox "
                                     "needs an address of its own"});
  EXPECT_FALSE(tx->find_sandbox("sb-1"));
  EXPECT_TRUE(rejection(*tx, record("sb-1"), {{"up0", testing::ip4("198.18.10.1")}}).empty());
}

TEST_F(SandboxOpsTest, SetStateWritesOnlyAChange) {
  {
    auto tx = store_->begin_write();
    add_sandbox(*tx, record("sb-1"));
    tx->commit();
  }
  const auto set = [&](store::SandboxState s, std::int64_t now) {
    auto tx = store_->begin_write();
    const bool changed = set_sandbox_state(*tx, "sb-1", s, now);
    tx->commit();
    return changed;
  };
  EXPECT_TRUE(set(store::SandboxState::draining, 10));
  const auto g = generation();
  EXPECT_FALSE(set(store::SandboxState::draining, 20));
  EXPECT_EQ(generation(), g);
  const auto sb = store_->begin_read()->find_sandbox("sb-1");
  EXPECT_EQ(sb->state, store::SandboxState::draining);
  EXPECT_EQ(sb->changed_at_ms, 10) << "the no-op did not touch the time either";
  EXPECT_TRUE(set(store::SandboxState::stopped, 30));
  EXPECT_TRUE(set(store::SandboxState::running, 40));
}

TEST_F(SandboxOpsTest, UnknownIdsAreRejected) {
  auto tx = store_->begin_write();
  EXPECT_THROW(set_sandbox_state(*tx, "nope", store::SandboxState::stopped, 1), Rejected);
  EXPECT_THROW(remove_sandbox(*tx, "nope"), Rejected);
  add_sandbox(*tx, record("sb-1"));
  remove_sandbox(*tx, "sb-1");
  EXPECT_FALSE(tx->find_sandbox("sb-1"));
  EXPECT_THROW(remove_sandbox(*tx, "sb-1"), Rejected);
}

}  // namespace
}  // namespace portway::model
