// agent::NodeDataplane's own logic with fake dataplanes (support/fake_dataplane.h): the chosen
// dataplane object is the one later changes and checks go to, a switch brings the new one up
// before the old one hands over, a change that fails or does not fit leaves desired() as it
// was, and a check's reading from before a sync is not trusted. Root only for the pin-folder
// lock (a folder of this process's own under /sys/fs/bpf); nothing else touches the kernel.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "agent/node_dataplane.h"
#include "support/fake_dataplane.h"
#include "support/root.h"

namespace portway::agent {
namespace {

using dataplane::Kind;
using test::FakeDataplane;
using test::FakeKernel;

state::DataplaneState one_service(state::MemberState second) {
  state::Frontend f;
  f.key = {net::Ipv4{0xC6130007}, 80, config::Protocol::tcp};  // 198.19.0.7:80
  f.target_port = 7000;
  f.backend_set = "svc/lab/web";
  f.port_name = "http";
  return state::DataplaneState::from_parts(
      {f}, {},
      {{"svc/lab/web", {{net::Ipv4{0xC6120A02}, std::nullopt, state::MemberState::running},
                        {net::Ipv4{0xC6120B02}, std::nullopt, second}}}});
}

class NodeDataplaneOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    settings_.bpffs_dir = "/sys/fs/bpf/portway-owner-" + std::to_string(getpid());
  }
  void TearDown() override {
    node_.reset();
    std::error_code ec;
    std::filesystem::remove_all(settings_.bpffs_dir, ec);
  }
  void make(config::DataplaneChoice choice) {
    node_.emplace(settings_, choice, std::chrono::milliseconds(0),
                  [this](Kind k, const config::NodeSettings&) { return std::make_unique<FakeDataplane>(k, kernel_); });
  }
  // The journal lines about `what`.
  std::vector<std::string> lines(const std::string& what) const {
    std::vector<std::string> out;
    for (const auto& l : kernel_.journal)
      if (l.find(what) != std::string::npos) out.push_back(l);
    return out;
  }

  config::NodeSettings settings_;
  FakeKernel kernel_;
  std::optional<NodeDataplane> node_;
  const state::DataplaneState before_ = one_service(state::MemberState::running);
  const state::DataplaneState after_ = one_service(state::MemberState::draining);
};

TEST_F(NodeDataplaneOwnerTest, ChangesGoToTheDataplaneObjectTheSyncChose) {
  make(config::DataplaneChoice::nft);
  node_->sync(before_, 1);
  const auto took = lines("take_over");
  ASSERT_EQ(took.size(), 1u);
  const std::string chosen = took[0].substr(0, took[0].find(" take_over"));  // "nft #n"
  node_->apply_changes(state::diff(before_, after_), 2);
  EXPECT_EQ(lines("apply_changes"), std::vector<std::string>{chosen + " apply_changes"});
  EXPECT_EQ(kernel_.nft, after_);
  EXPECT_EQ(node_->programmed_generation(), 2u);
  node_->check();
  EXPECT_EQ(lines("repair").size(), 1u);
  EXPECT_EQ(lines("repair")[0].rfind(chosen, 0), 0u) << "the check went to another object";
  // A second sync of the same kind keeps that object too.
  node_->sync(before_, 3);
  EXPECT_EQ(lines("take_over").back().rfind(chosen, 0), 0u);
}

TEST_F(NodeDataplaneOwnerTest, ASwitchBringsTheNewDataplaneUpBeforeTheOldOneHandsOver) {
  make(config::DataplaneChoice::nft);
  node_->sync(before_, 1);
  node_->update_settings(settings_, config::DataplaneChoice::xdp);
  kernel_.journal.clear();
  const SyncOutcome out = node_->sync(before_, 2);
  EXPECT_EQ(out.active, Kind::xdp);
  const auto take = lines("xdp #");
  const auto hand = lines("hand_over");
  ASSERT_FALSE(hand.empty());
  ASSERT_FALSE(take.empty());
  EXPECT_NE(take[0].find("take_over from the other"), std::string::npos) << take[0];
  const auto pos = [&](const std::string& l) { return std::find(kernel_.journal.begin(), kernel_.journal.end(), l); };
  EXPECT_LT(pos(take[0]), pos(hand[0])) << "nftables handed over before the fast path was up";
  EXPECT_FALSE(kernel_.nft.has_value());
  EXPECT_EQ(kernel_.xdp, before_);
}

TEST_F(NodeDataplaneOwnerTest, AFailedOrMisfittingChangeLeavesDesiredAsItWas) {
  make(config::DataplaneChoice::nft);
  node_->sync(before_, 1);
  kernel_.fail_apply_changes = true;
  EXPECT_THROW(node_->apply_changes(state::diff(before_, after_), 2), std::runtime_error);
  EXPECT_EQ(node_->desired(), before_);
  EXPECT_EQ(node_->programmed_generation(), 1u);
  // A diff that does not fit desired() (it was made against another state): nothing written.
  const state::StateDiff stale = state::diff(after_, before_);
  EXPECT_THROW(node_->apply_changes(stale, 2), std::invalid_argument);
  EXPECT_TRUE(lines("apply_changes").empty());
  EXPECT_EQ(node_->desired(), before_);
  // And the change itself still applies afterwards.
  node_->apply_changes(state::diff(before_, after_), 2);
  EXPECT_EQ(node_->desired(), after_);
}

TEST_F(NodeDataplaneOwnerTest, ACheckRepairsDriftAndCountsIt) {
  make(config::DataplaneChoice::nft);
  node_->sync(before_, 1);
  EXPECT_TRUE(node_->check().repairs.empty());
  kernel_.nft = after_;  // someone changed the kernel
  const CheckReport r = node_->check();
  EXPECT_EQ(r.repairs, (std::map<std::string, std::uint64_t>{{"fake_drift", 1}}));
  EXPECT_EQ(kernel_.nft, before_);
}

TEST_F(NodeDataplaneOwnerTest, AReadingFromBeforeASyncIsNotUsed) {
  make(config::DataplaneChoice::nft);
  node_->sync(before_, 1);
  PendingCheck pending = node_->begin_check();
  ASSERT_TRUE(pending.reader);
  auto reading = pending.reader->read();
  node_->sync(after_, 2);
  // The reading shows `before_`, which differs from the new desired state: trusted, it would
  // be taken for drift.
  const CheckReport r = node_->finish_check(pending, reading.get());
  EXPECT_TRUE(r.repairs.empty());
  EXPECT_EQ(lines("repair").back().find("repair reading now") != std::string::npos, true);
}

}  // namespace
}  // namespace portway::agent
