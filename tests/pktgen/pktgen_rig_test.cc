// A short run of the packet rig (one round, short measurements): the --json shape, every
// variant delivering frames except an XDP redirect into a sandbox veth at kernel defaults,
// loss = offered - delivered. No timed assertions: the figures belong to docs/performance.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "live_frames.h"
#include "support/run_command.h"
#include "support/root.h"

namespace portway::test {
namespace {

TEST(PktgenRig, OneShortRoundReportsEveryVariantWithLossAndRatios) {
  PORTWAY_REQUIRE_ROOT();
  const std::string prefix = "pwrt" + std::to_string(getpid());
  const auto r = run_command(std::string(PORTWAY_RIG_BINARY) + " --rounds 1 --seconds 0.3 --warmup 0.1 --prefix " +
                             prefix + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"rounds", "seconds", "frame_size", "flows", "conntrack", "cpu", "loadavg_before", "loadavg_after"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["native_sinks"], false);
  // New-flow variants start from full tables: at least 1.25x the fast path's ways for the
  // rig's 65,536 flows (81,920 ways; the node's nf_conntrack_max may be larger) went first.
  EXPECT_GE(j["new_flow_fill"].get<std::uint64_t>(), 81920u * 5 / 4);
  // By default an engine that makes XDP frames, as a NIC's driver hands them to XDP.
  EXPECT_EQ(j["engine"], loader::xdp_live_frames_supported() ? "live-frames" : "xdp-loop");
  const std::set<std::string> variants{
      "xdp_drop",                 "redirect",                 "tc_redirect",            "tc_redirect_peer",
      "portway_xdp_established",  "portway_xdp_new",          "portway_xdp6_established", "portway_xdp6_new",
      "portway_nft_established",  "portway_nft_new",          "portway_nft6_established", "portway_nft6_new"};
  std::set<std::string> seen;
  for (const auto& [name, v] : j["variants"].items()) {
    seen.insert(name);
    ASSERT_EQ(v["runs"].size(), 1u) << name;
    for (const auto& run : v["runs"]) {
      if (name == "redirect") {
        // The sandbox veths are at defaults (the sinks count at tc ingress): no NAPI on the
        // peer, so the kernel drops every XDP-redirected frame, counted at the uplink.
        EXPECT_EQ(run["delivered"].get<std::uint64_t>(), 0u);
        EXPECT_GE(run["rx_dropped"].get<std::uint64_t>(), run["offered"].get<std::uint64_t>());
        continue;
      }
      EXPECT_GT(run["delivered"].get<std::uint64_t>(), 0u) << name;
      EXPECT_EQ(run["loss"].get<std::int64_t>(),
                run["offered"].get<std::int64_t>() - run["delivered"].get<std::int64_t>())
          << name;
    }
    if (name != "redirect") {
      EXPECT_GT(v["delivered_pps"].get<double>(), 0) << name;
      EXPECT_NEAR(v["ns_per_frame"].get<double>(), 1e9 / v["delivered_pps"].get<double>(), 1e-6) << name;
    }
  }
  EXPECT_EQ(seen, variants);
  EXPECT_EQ(j["ratios"]["ceiling"], "tc_redirect");
  for (const char* k : {"xdp_established_vs_ceiling", "xdp_new_vs_ceiling", "xdp_vs_nft_established",
                        "xdp_vs_nft_new", "xdp6_established_vs_ceiling", "xdp6_new_vs_ceiling",
                        "xdp6_vs_nft6_established", "xdp6_vs_nft6_new", "tc_redirect_peer_vs_tc_redirect",
                        "ceiling_vs_first_hop", "xdp_vs_nft_established_above_first_hop",
                        "xdp_vs_nft_new_above_first_hop", "xdp6_vs_nft6_established_above_first_hop",
                        "xdp6_vs_nft6_new_above_first_hop"})
    EXPECT_GT(j["ratios"][k].get<double>(), 0) << k;
  // Everything the rig made is gone.
  EXPECT_NE(run_command("ip netns list | grep -q " + prefix).status, 0);
  EXPECT_NE(access(("/sys/fs/bpf/portway-" + prefix).c_str(), F_OK), 0);
}

// The tuned setup (--native-sinks: an XDP program on each sandbox end) takes the XDP redirect,
// and a bpf_redirect_peer passes the sinks' driver-mode XDP by; --only measures just what it
// names; --engine picks the generator's engine.
TEST(PktgenRig, NativeSinksTakeTheRedirectAndMissThePeerRedirect) {
  PORTWAY_REQUIRE_ROOT();
  const std::string prefix = "pwrn" + std::to_string(getpid());
  const auto r = run_command(std::string(PORTWAY_RIG_BINARY) +
                             " --rounds 1 --seconds 0.3 --native-sinks --only redirect,tc_redirect_peer "
                             "--engine packet-socket --prefix " +
                             prefix + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  // The engine asked for, not the default: the rig runs with the packet socket's skbs too.
  EXPECT_EQ(j["engine"], "packet-socket");
  EXPECT_EQ(j["ratios"]["ceiling"], "redirect");
  for (const auto& [name, v] : j["variants"].items()) {
    if (name != "redirect" && name != "tc_redirect_peer") {
      EXPECT_TRUE(v["runs"].empty()) << name;
      continue;
    }
    ASSERT_EQ(v["runs"].size(), 1u) << name;
    const auto delivered = v["runs"][0]["delivered"].get<std::uint64_t>();
    const auto offered = v["runs"][0]["offered"].get<std::uint64_t>();
    if (name == "redirect") {
      EXPECT_GT(delivered, 0u);
    } else {
      // The native sink counts every frame, the node's neighbour discovery too: a few.
      EXPECT_LT(delivered, offered / 100 + 10);
    }
  }
  EXPECT_NE(run_command("ip netns list | grep -q " + prefix).status, 0);
}

// Without nftables variants the fast path is still switched off the uplink after a round whose
// successor attaches the rig's own XDP program there (one XDP program per device: the second
// round's xdp_drop would find it busy).
TEST(PktgenRig, RoundsWithoutNftablesFreeTheUplinkForTheNextRound) {
  PORTWAY_REQUIRE_ROOT();
  const std::string prefix = "pwro" + std::to_string(getpid());
  const auto r = run_command(std::string(PORTWAY_RIG_BINARY) +
                             " --rounds 2 --seconds 0.2 --warmup 0.1 --only xdp_drop,portway_xdp_established --prefix " +
                             prefix + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* v : {"xdp_drop", "portway_xdp_established"}) {
    ASSERT_EQ(j["variants"][v]["runs"].size(), 2u) << v;
    for (const auto& run : j["variants"][v]["runs"]) EXPECT_GT(run["delivered"].get<std::uint64_t>(), 0u) << v;
  }
  EXPECT_TRUE(j["variants"]["portway_nft_established"]["runs"].empty());
  EXPECT_NE(run_command("ip netns list | grep -q " + prefix).status, 0);
}

// --conntrack sizes the fast path's connection tables (the node setting maps.conntrack): the
// all-new fill before the new-flow variant follows the ways of that capacity (1,048,576
// connections: 163,840 sets of 8 ways, above the node's nf_conntrack_max here); 0 is refused
// before anything is built.
TEST(PktgenRig, ConntrackSizesTheFastPathsTables) {
  PORTWAY_REQUIRE_ROOT();
  const std::string prefix = "pwrc" + std::to_string(getpid());
  const std::string rig = std::string(PORTWAY_RIG_BINARY) + " --rounds 1 --seconds 0.2 --prefix " + prefix;
  EXPECT_EQ(run_command(rig + " --conntrack 0 --json").status, 2);
  EXPECT_NE(run_command("ip netns list | grep -q " + prefix).status, 0);
  const auto r = run_command(rig + " --conntrack 1048576 --only portway_xdp_new --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["conntrack"], 1048576);
  EXPECT_GE(j["new_flow_fill"].get<std::uint64_t>(), 163840ull * 8 * 5 / 4);
  EXPECT_EQ(j["variants"]["portway_xdp_new"]["runs"].size(), 1u);
  EXPECT_NE(run_command("ip netns list | grep -q " + prefix).status, 0);
  EXPECT_NE(access(("/sys/fs/bpf/portway-" + prefix).c_str(), F_OK), 0);
}

}  // namespace
}  // namespace portway::test
