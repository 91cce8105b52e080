// agent::NodeDataplane on a lab node, on both dataplanes (docs/operations.md "Drift repair"):
//   - apply_changes() of a one-sandbox change leaves the kernel holding exactly
//     patch(desired, diff), read back;
//   - check() repairs each kind of drift and counts it by its stable name, and finds nothing
//     on an intact node;
//   - the read phase of a check runs on another thread while a change is applied, and the
//     change is not taken for drift;
//   - a foreign nft table with a drop policy on the same hooks is never touched.
// Every NodeDataplane call runs in the lab's node namespace (nftables binds its sockets there
// when the dataplane is made; the fast path resolves the node's links there).
#include <gtest/gtest.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <filesystem>
#include <thread>

#include "agent/node_dataplane.h"
#include "dataplane/nft/representable.h"
#include "dataplane/xdp/pin_layout.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab_dataplanes.h"
#include "loader/xdp_link.h"
#include "support/root.h"
#include "loader/tc_filter.h"
#include "netlink/links.h"
#include "nft_lab.h"
#include "state/diff.h"

namespace portway::dataplane::nft::testing {
namespace {

class NodeDataplaneTest : public NftLabTest {
 protected:
  virtual Kind kind() const = 0;

  void SetUp() override {
    NftLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    settings_ = itest::xdp_lab_settings(topo_, "/sys/fs/bpf/portway-nodedp-" + std::to_string(getpid()));
    const auto choice = kind() == Kind::xdp ? config::DataplaneChoice::xdp : config::DataplaneChoice::nft;
    in_node([&] { node_.emplace(settings_, choice); });
    before_ = lab_state(all_members());
    // One sandbox stops: its member drains (the change `portway sandbox stop` makes).
    after_ = lab_state({member(0), member(1, state::MemberState::draining), member(2)});
    in_node([&] { node_->sync(before_, 1); });
  }

  void TearDown() override {
    if (node_) {
      try {
        in_node([&] {
          xdp::XdpDataplane(settings_).remove_all();
          node_.reset();
        });
      } catch (const std::exception& e) {
        ADD_FAILURE() << "remove the fast path: " << e.what();
      }
      std::error_code ec;
      std::filesystem::remove_all(settings_.bpffs_dir, ec);
    }
    NftLabTest::TearDown();
  }

  // What the active dataplane implements of `s` (and so reads back).
  state::DataplaneState kernel_form(const state::DataplaneState& s) const {
    if (kind() == Kind::xdp) return s;
    const auto rep = representable(s);
    return rep.of(s);
  }

  agent::CheckReport check() {
    agent::CheckReport r;
    in_node([&] { r = node_->check(); });
    return r;
  }

  state::DataplaneState installed() {
    state::DataplaneState s;
    in_node([&] { s = node_->installed(); });
    return s;
  }

  // The drift was repaired and counted once under `kind`, and the kernel holds desired again:
  // a second check finds nothing.
  void expect_repaired(const char* kind) {
    const agent::CheckReport r = check();
    EXPECT_EQ(r.repairs.count(kind), 1u) << kind << " not counted";
    EXPECT_GE(r.repairs.count(kind) ? r.repairs.at(kind) : 0, 1u);
    for (const auto& n : r.notes) std::cout << "  repair: " << n << "\n";
    EXPECT_EQ(installed(), kernel_form(before_));
    const agent::CheckReport again = check();
    EXPECT_TRUE(again.repairs.empty()) << "a repaired node still differs: " << again.notes.size() << " notes";
  }

  config::NodeSettings settings_;
  std::optional<agent::NodeDataplane> node_;
  state::DataplaneState before_, after_;
};

class BothDataplanes : public NodeDataplaneTest, public ::testing::WithParamInterface<Kind> {
 protected:
  Kind kind() const override { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(NodeDataplane, BothDataplanes, ::testing::Values(Kind::xdp, Kind::nft),
                         [](const auto& p) { return std::string(to_string(p.param)); });

class NftNode : public NodeDataplaneTest {
 protected:
  Kind kind() const override { return Kind::nft; }
};

class XdpNode : public NodeDataplaneTest {
 protected:
  Kind kind() const override { return Kind::xdp; }
};

TEST_P(BothDataplanes, ApplyChangesProgramsExactlyThePatchedState) {
  PORTWAY_REQUIRE_ROOT();
  const state::StateDiff d = state::diff(before_, after_);
  ASSERT_FALSE(d.empty());
  in_node([&] { node_->apply_changes(d, 2); });
  EXPECT_EQ(node_->programmed_generation(), 2u);
  EXPECT_EQ(node_->desired(), state::patch(before_, d));
  EXPECT_EQ(installed(), kernel_form(state::patch(before_, d)));
  EXPECT_TRUE(check().repairs.empty());

  // A diff that does not fit is refused before anything is written.
  EXPECT_THROW(in_node([&] { node_->apply_changes(d, 3); }), std::invalid_argument);
  EXPECT_EQ(node_->programmed_generation(), 2u);
  EXPECT_EQ(node_->desired(), after_);
  EXPECT_EQ(installed(), kernel_form(after_));
}

TEST_P(BothDataplanes, AnIntactNodeHasNothingToRepair) {
  PORTWAY_REQUIRE_ROOT();
  const agent::CheckReport r = check();
  EXPECT_TRUE(r.repairs.empty());
  EXPECT_TRUE(r.notes.empty());
}

TEST_P(BothDataplanes, TheReadPhaseRunsOnAnotherThreadWhileAChangeIsApplied) {
  PORTWAY_REQUIRE_ROOT();
  agent::PendingCheck pending;
  in_node([&] { pending = node_->begin_check(); });
  std::unique_ptr<KernelReading> reading;
  // Another thread, outside the node namespace: the reader's handles were opened in it.
  std::thread reader([&] {
    if (pending.reader) reading = pending.reader->read();
  });
  reader.join();
  // The change lands after the read: the reading shows the old member, which is no drift.
  in_node([&] { node_->apply_changes(state::diff(before_, after_), 2); });
  agent::CheckReport r;
  in_node([&] { r = node_->finish_check(pending, reading.get()); });
  EXPECT_TRUE(r.repairs.empty()) << (r.notes.empty() ? "" : r.notes.front());
  EXPECT_EQ(installed(), kernel_form(after_));
}

TEST_P(BothDataplanes, AnotherWritersChangeIsUndone) {
  PORTWAY_REQUIRE_ROOT();
  // Another object programs the same kernel objects behind the owner's back (the way a
  // second, unlocked writer would).
  in_node([&] {
    if (kind() == Kind::xdp)
      xdp::XdpDataplane(settings_).apply(after_);
    else
      NftDataplane(settings_).apply(after_);
  });
  ASSERT_EQ(installed(), kernel_form(after_));
  expect_repaired(kind() == Kind::xdp ? "xdp_maps" : "nft_elements");
}

// nftables' drift.

TEST_F(NftNode, NftTableDeletedIsRepaired) {
  PORTWAY_REQUIRE_ROOT();
  nft_cli("delete table inet portway");
  expect_repaired("nft_table_missing");
}

TEST_F(NftNode, NftRulesetFlushIsRepaired) {
  PORTWAY_REQUIRE_ROOT();
  nft_cli("flush ruleset");
  expect_repaired("nft_table_missing");
}

TEST_F(NftNode, NftElementsLostAreRepaired) {
  PORTWAY_REQUIRE_ROOT();
  nft_cli("flush map inet portway svc_disp");
  expect_repaired("nft_elements");
}

TEST_F(NftNode, AForeignTableWithADropPolicyIsNeverTouched) {
  PORTWAY_REQUIRE_ROOT();
  const std::string table = "inet pwforeign" + std::to_string(getpid());
  nft_cli("add table " + table);
  // The hooks portway's table uses, with a drop policy (nothing is sent: the test only reads).
  nft_cli("add chain " + table + " pwpre { type filter hook prerouting priority -300; policy drop; }");
  nft_cli("add chain " + table + " pwfwd { type filter hook forward priority 0; policy drop; }");
  nft_cli("add chain " + table + " pwout { type filter hook output priority 0; policy drop; }");
  const std::string foreign = nft_cli("list table " + table);

  EXPECT_TRUE(check().repairs.empty()) << "a foreign table is no drift";
  in_node([&] { node_->apply_changes(state::diff(before_, after_), 2); });
  nft_cli("delete table inet portway");
  const agent::CheckReport r = check();
  EXPECT_EQ(r.repairs.count("nft_table_missing"), 1u);
  EXPECT_EQ(installed(), kernel_form(after_));
  EXPECT_EQ(nft_cli("list table " + table), foreign);
  nft_cli("delete table " + table);
}

// The fast path's drift.

TEST_F(XdpNode, XdpDetachedFromTheUplinkIsRepaired) {
  PORTWAY_REQUIRE_ROOT();
  in_node([&] {
    const loader::UniqueFd link = loader::open_pinned(xdp::PinLayout{settings_.bpffs_dir}.xdp_link(topo_.uplink));
    ASSERT_TRUE(link);
    ASSERT_EQ(bpf_link_detach(link.get()), 0);
  });
  expect_repaired("xdp_detached");
  in_node([&] {
    bpf_xdp_query_opts q{};
    q.sz = sizeof q;
    ASSERT_EQ(bpf_xdp_query(static_cast<int>(netlink::ifindex_of(topo_.uplink)), 0, &q), 0);
    EXPECT_NE(q.prog_id, 0u) << "XDP is not attached again";
  });
}

TEST_F(XdpNode, TcFilterRemovedFromASandboxInterfaceIsRepaired) {
  PORTWAY_REQUIRE_ROOT();
  const std::string link = topo_.sandboxes.at(0).host_link;
  in_node([&] {
    const int ifindex = static_cast<int>(netlink::ifindex_of(link));
    loader::detach_tc(ifindex, loader::TcDirection::ingress, false);
    ASSERT_EQ(loader::tc_program_id(ifindex, loader::TcDirection::ingress), 0u);
  });
  expect_repaired("tc_detached");
  in_node([&] {
    EXPECT_NE(loader::tc_program_id(static_cast<int>(netlink::ifindex_of(link)), loader::TcDirection::ingress), 0u);
  });
}

TEST_F(XdpNode, APinRemovedIsRepaired) {
  PORTWAY_REQUIRE_ROOT();
  const std::string pin = xdp::PinLayout{settings_.bpffs_dir}.map("pw_frontends");
  ASSERT_TRUE(std::filesystem::exists(pin));
  std::filesystem::remove(pin);
  expect_repaired("pin_missing");
  EXPECT_TRUE(std::filesystem::exists(pin));
}

TEST_F(XdpNode, ASandboxInterfaceRecreatedWithANewIfindexIsAttachedAgain) {
  PORTWAY_REQUIRE_ROOT();
  const std::string name = "sbdrift";  // matches the sandbox_interfaces glob sb*
  unsigned first = 0, second = 0;
  in_node([&] {
    netlink::create_bridge(name);
    first = netlink::ifindex_of(name);
  });
  expect_repaired("sandbox_interface_attached");
  in_node([&] {
    netlink::delete_link(name);
    netlink::create_bridge(name);
    second = netlink::ifindex_of(name);
  });
  ASSERT_NE(first, second);
  expect_repaired("sandbox_interface_attached");
  in_node([&] {
    EXPECT_NE(loader::tc_program_id(static_cast<int>(second), loader::TcDirection::ingress), 0u);
    netlink::delete_link(name);
  });
}

}  // namespace
}  // namespace portway::dataplane::nft::testing
