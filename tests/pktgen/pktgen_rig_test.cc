// A short run of the packet rig (one round, short measurements): the --json shape, every
// variant delivering frames, loss = offered - delivered. No timed assertions: the figures
// belong to docs/performance.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "run_command.h"
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
  for (const char* k : {"rounds", "seconds", "frame_size", "flows", "cpu", "loadavg_before", "loadavg_after"})
    EXPECT_TRUE(j.contains(k)) << k;
  const std::set<std::string> variants{"xdp_drop",          "redirect",
                                       "portway_xdp_established", "portway_xdp_new",
                                       "portway_nft_established", "portway_nft_new"};
  std::set<std::string> seen;
  for (const auto& [name, v] : j["variants"].items()) {
    seen.insert(name);
    ASSERT_EQ(v["runs"].size(), 1u) << name;
    for (const auto& run : v["runs"]) {
      EXPECT_GT(run["delivered"].get<std::uint64_t>(), 0u) << name;
      EXPECT_EQ(run["loss"].get<std::int64_t>(),
                run["offered"].get<std::int64_t>() - run["delivered"].get<std::int64_t>())
          << name;
    }
    EXPECT_GT(v["delivered_pps"].get<double>(), 0) << name;
  }
  EXPECT_EQ(seen, variants);
  for (const char* k : {"xdp_established_vs_ceiling", "xdp_new_vs_ceiling", "xdp_vs_nft_established",
                        "xdp_vs_nft_new", "ceiling_vs_first_hop"})
    EXPECT_GT(j["ratios"][k].get<double>(), 0) << k;
  // Everything the rig made is gone.
  EXPECT_NE(run_command("ip netns list | grep -q " + prefix).status, 0);
  EXPECT_NE(access(("/sys/fs/bpf/portway-" + prefix).c_str(), F_OK), 0);
}

}  // namespace
}  // namespace portway::test
