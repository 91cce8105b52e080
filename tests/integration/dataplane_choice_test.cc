// `--dataplane auto` for real in the lab: a fast path that cannot attach (a bridge has no
// native XDP and generic mode is refused) or a failing probe ends on nftables with the reason
// said; switching between the two never leaves both installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "dataplane/probe/choose.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "netlink/links.h"
#include "netlink/netns.h"
#include "lab_dataplanes.h"
#include "nft_lab.h"

namespace portway::dataplane::nft::testing {
namespace {

using probe::choose_dataplane;
using probe::DataplaneFactories;
using lab::ProbeStatus;

constexpr const char* kBridge = "pwbr0";

class DataplaneChoiceTest : public NftLabTest {
 protected:
  void SetUp() override {
    NftLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    settings_ = itest::xdp_lab_settings(topo_, "/sys/fs/bpf/portway-nftchoice-" + std::to_string(getpid()));
    // An Ethernet uplink without native XDP, in the test's own node namespace.
    in_node([&] {
      netlink::create_bridge(kBridge);
      netlink::set_link_up(kBridge);
    });
    settings_.uplinks = {kBridge};
  }

  void TearDown() override {
    if (built_) {
      try {
        in_node([&] { xdp::XdpDataplane(settings_).remove_all(); });
      } catch (const std::exception& e) {
        ADD_FAILURE() << "remove the fast path: " << e.what();
      }
      std::error_code ec;
      std::filesystem::remove_all(settings_.bpffs_dir, ec);
    }
    NftLabTest::TearDown();
  }

  DataplaneFactories factories(bool allow_generic) {
    return {
        [this, allow_generic]() -> std::unique_ptr<Dataplane> {
          ++xdp_attempts_;
          std::unique_ptr<xdp::XdpDataplane> x;
          in_node([&] {
            x = std::make_unique<xdp::XdpDataplane>(settings_, xdp::XdpDataplane::Options{allow_generic});
            try {
              std::vector<std::string> notes;
              x->ensure_attached(notes);
            } catch (...) {
              x->remove_all();  // the contract: a failed start leaves nothing attached
              throw;
            }
          });
          return x;
        },
        [this]() -> std::unique_ptr<Dataplane> {
          std::unique_ptr<Dataplane> n;
          in_node([&] { n = std::make_unique<NftDataplane>(settings_); });
          return n;
        },
        [this] { in_node([&] { xdp::XdpDataplane(settings_).remove_all(); }); },
        [this] { in_node([&] { NftDataplane(settings_).remove_all(); }); },
        [this] {
          bool running = false;
          in_node([&] { running = xdp::XdpDataplane(settings_).is_running(); });
          return running;
        },
    };
  }

  probe::ProbeReport probe_in_node() {
    probe::ProbeReport r;
    in_node([&] { r = probe::probe_kernel(settings_); });
    return r;
  }

  config::NodeSettings settings_;
  int xdp_attempts_ = 0;
};

TEST_F(DataplaneChoiceTest, AFastPathThatCannotAttachFallsBackToNftablesWithTheReason) {
  const auto report = probe_in_node();
  const auto choice = choose_dataplane(settings_, report, factories(/*allow_generic=*/false));
  ASSERT_TRUE(choice.dataplane);
  EXPECT_EQ(choice.dataplane->kind(), Kind::nft);
  EXPECT_TRUE(choice.fell_back);
  EXPECT_EQ(xdp_attempts_, 1);
  EXPECT_NE(choice.reason.find("native"), std::string::npos) << choice.reason;
  EXPECT_EQ(choice.reason.rfind("nft: fallback, the fast path failed to start: ", 0), 0u) << choice.reason;
  EXPECT_FALSE(std::filesystem::exists(settings_.bpffs_dir + "/links/xdp-" + kBridge)) << "nothing of the attempt stays attached";

  choice.dataplane->apply(lab_state(all_members()));
  lab::WhoAnswer who;
  ASSERT_TRUE(lab::parse_who(lab::tcp_probe(topo_.client_netns, kVip, 80).reply, who));
  EXPECT_EQ(who.port, 7000);
}

TEST_F(DataplaneChoiceTest, AFailingProbeFallsBackWithoutTryingTheFastPath) {
  settings_.bpffs_dir = "/tmp/portway-not-bpffs-" + std::to_string(getpid()) + "/pins";
  const auto report = probe_in_node();
  ASSERT_FALSE(report.fast_path_possible());
  const auto choice = choose_dataplane(settings_, report, factories(true));
  EXPECT_EQ(choice.dataplane->kind(), Kind::nft);
  EXPECT_EQ(xdp_attempts_, 0);
  EXPECT_NE(choice.reason.find("bpffs"), std::string::npos) << choice.reason;
}

TEST_F(DataplaneChoiceTest, SwitchingBetweenTheDataplanesNeverLeavesBothInstalled) {
  // Start on nftables.
  settings_.dataplane = config::DataplaneChoice::nft;
  auto first = choose_dataplane(settings_, probe_in_node(), factories(true));
  first.dataplane->apply(lab_state(all_members()));
  ASSERT_NE(nft_cli("list tables").find("inet portway"), std::string::npos);

  // auto on an uplink that takes XDP: the fast path starts and the table goes.
  settings_.uplinks = {topo_.uplink};
  settings_.dataplane = config::DataplaneChoice::automatic;
  auto second = choose_dataplane(settings_, probe_in_node(), factories(true));
  ASSERT_EQ(second.dataplane->kind(), Kind::xdp) << second.reason;
  EXPECT_EQ(nft_cli("list tables").find("inet portway"), std::string::npos) << "both dataplanes installed";
  EXPECT_TRUE(std::filesystem::exists(settings_.bpffs_dir));

  // Back to nftables: the fast path's pins and links go.
  settings_.dataplane = config::DataplaneChoice::nft;
  second.dataplane.reset();
  auto third = choose_dataplane(settings_, probe_in_node(), factories(true));
  EXPECT_EQ(third.dataplane->kind(), Kind::nft);
  // The folder stays (it carries the writers' lock); nothing of the fast path is left in it.
  EXPECT_FALSE(xdp::XdpDataplane(settings_).is_installed()) << "both dataplanes installed";
  third.dataplane->apply(lab_state(all_members()));
  EXPECT_EQ(lab::tcp_probe(topo_.client_netns, kVip, 80).status, ProbeStatus::ok);
}

}  // namespace
}  // namespace portway::dataplane::nft::testing
