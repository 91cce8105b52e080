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
  const auto b = add_sandbox(*tx, record(""));
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
