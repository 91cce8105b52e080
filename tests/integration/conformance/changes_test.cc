// Conformance scenarios about backend-set changes under traffic (docs/dataplane.md "Semantics"):
// draining, removal (TCP reset, UDP re-balance within 1 s), and adding/removing one backend
// of N with many flows open.
#include <map>
#include <thread>

#include "conformance_fixture.h"
#include "lab/probe_client.h"
#include "tcp_connection.h"
#include "udp_flows.h"

namespace portway::conformance {
namespace {

using lab::ProbeStatus;
using state::MemberState;
using namespace std::chrono_literals;

std::size_t index_of(const std::string& sandbox) { return static_cast<std::size_t>(std::stoul(sandbox.substr(2))); }

TEST_P(ConformanceTest, Draining) {
  const std::string s = "draining";
  apply_web(ground_->all_members());
  itest::TcpConnection conn(client(), vip(), 80);
  ASSERT_TRUE(conn.connected());
  const std::string pinned = itest::who_sandbox(conn.exchange("WHO\n"));
  ASSERT_FALSE(pinned.empty());
  auto members = ground_->all_members();
  members[index_of(pinned)].state = MemberState::draining;
  apply_web(members);
  dp_->settle();
  const auto again = conn.exchange("still there\n");
  record(s, "established.answered", yes_no(again.status == ProbeStatus::ok && again.reply == "still there\n"));
  EXPECT_EQ(again.reply, "still there\n") << "an established flow survives draining: " << again.error;
  int to_draining = 0, replies = 0;
  for (int i = 0; i < 30; ++i) {
    const std::string sb = itest::who_sandbox(lab::tcp_probe(client(), vip(), 80, "WHO\n", 1000ms));
    replies += !sb.empty();
    to_draining += sb == pinned;
  }
  record(s, "new_flows.answered_of_30", std::to_string(replies));
  record(s, "new_flows.to_draining", std::to_string(to_draining));
  EXPECT_EQ(replies, 30);
  EXPECT_EQ(to_draining, 0) << "new flows went to the draining backend " << pinned;
}

TEST_P(ConformanceTest, RemovedBackendTcp) {
  const std::string s = "removed_backend_tcp";
  apply_web(ground_->all_members());
  itest::TcpConnection conn(client(), vip(), 80);
  ASSERT_TRUE(conn.connected());
  const std::string pinned = itest::who_sandbox(conn.exchange("WHO\n"));
  ASSERT_FALSE(pinned.empty());
  std::vector<std::size_t> rest;
  for (std::size_t i = 0; i < kSandboxes; ++i)
    if (i != index_of(pinned)) rest.push_back(i);
  apply_web(ground_->members(rest));
  dp_->settle();
  const auto r = conn.exchange("hello?\n");
  record(s, "next_packet.client_saw", lab::to_string(r.status));
  EXPECT_EQ(r.status, ProbeStatus::refused) << "expected a reset, got " << lab::to_string(r.status) << " " << r.reply;
  const std::string fresh = itest::who_sandbox(lab::tcp_probe(client(), vip(), 80));
  record(s, "new_connection.to_live_backend", yes_no(!fresh.empty() && fresh != pinned));
  EXPECT_FALSE(fresh.empty());
  EXPECT_NE(fresh, pinned);
}

TEST_P(ConformanceTest, RemovedBackendUdp) {
  const std::string s = "removed_backend_udp";
  apply_web(ground_->all_members());
  const std::uint16_t port = 40053;  // one UDP "stream": the same client port every time
  const std::string before = itest::who_sandbox(lab::udp_probe(client(), vip(), 53, "WHO", 1000ms, port));
  ASSERT_FALSE(before.empty());
  int stayed = 0;
  for (int i = 0; i < 5; ++i)
    stayed += itest::who_sandbox(lab::udp_probe(client(), vip(), 53, "WHO", 1000ms, port)) == before;
  record(s, "stream.sticky_5_of_5", yes_no(stayed == 5));
  EXPECT_EQ(stayed, 5) << "a UDP stream stays on its backend";
  std::vector<std::size_t> rest;
  for (std::size_t i = 0; i < kSandboxes; ++i)
    if (i != index_of(before)) rest.push_back(i);
  const auto removed_at = std::chrono::steady_clock::now();
  apply_web(ground_->members(rest));
  // No settle(): the 1 s includes whatever the dataplane does after apply() returns.
  std::string after;
  while (std::chrono::steady_clock::now() - removed_at < 1s) {
    after = itest::who_sandbox(lab::udp_probe(client(), vip(), 53, "WHO", 200ms, port));
    if (!after.empty() && after != before) break;
  }
  record(s, "rebalanced_within_1s", yes_no(!after.empty() && after != before));
  EXPECT_FALSE(after.empty());
  EXPECT_NE(after, before) << "the stream still went to the removed backend after 1 s";
}

TEST_P(ConformanceTest, ScaleUp) {
  const std::string s = "scale_up";
  apply_web(ground_->members({0, 1, 2}));
  const auto first = udp_assignments(client(), vip(), 41000, kScaleFlows);
  apply_web(ground_->all_members());  // sb3 joins: N = 4
  dp_->settle();
  const auto second = udp_assignments(client(), vip(), 41000, kScaleFlows);
  const std::size_t n_moved = moved(first, second);
  record(s, "open_flows.answered", std::to_string(answered(second)));
  record(s, "open_flows.moved_within_1.5/N", yes_no(n_moved <= kScaleBound));
  EXPECT_EQ(answered(second), kScaleFlows);
  EXPECT_LE(n_moved, kScaleBound) << "adding one backend of 4 moved " << n_moved << " of " << kScaleFlows << " flows";
  // New flows reach the new backend: its share is ~K/4 = 60; fewer than 20 is > 5 sigma off.
  const auto fresh = udp_assignments(client(), vip(), 42000, kScaleFlows);
  std::size_t to_new = 0;
  for (const auto& [port, sb] : fresh) to_new += sb == "sb3";
  record(s, "new_flows.new_backend_gets_its_share", yes_no(to_new >= 20));
  EXPECT_GE(to_new, 20u);
}

TEST_P(ConformanceTest, ScaleDown) {
  const std::string s = "scale_down";
  apply_web(ground_->all_members());
  const auto first = udp_assignments(client(), vip(), 43000, kScaleFlows);
  apply_web(ground_->members({0, 1, 2}));  // sb3 leaves: N = 4 -> 3
  dp_->settle();
  const auto second = udp_assignments(client(), vip(), 43000, kScaleFlows);
  std::size_t kept_on_removed = 0, others_moved = 0;
  for (const auto& [port, sb] : second) {
    if (sb.empty() || !first.count(port)) continue;
    const bool was_removed = first.at(port) == "sb3";
    kept_on_removed += was_removed && sb == "sb3";
    others_moved += !was_removed && first.at(port) != sb;
  }
  const std::size_t n_moved = moved(first, second);
  record(s, "flows.answered", std::to_string(answered(second)));
  record(s, "flows_of_removed_backend.still_on_it", std::to_string(kept_on_removed));
  record(s, "flows_of_other_backends.moved", std::to_string(others_moved));
  record(s, "moved_within_1.5/N", yes_no(n_moved <= kScaleBound));
  EXPECT_EQ(answered(second), kScaleFlows);
  EXPECT_EQ(kept_on_removed, 0u);
  EXPECT_EQ(others_moved, 0u) << "only the removed backend's flows may move";
  EXPECT_LE(n_moved, kScaleBound);
}

}  // namespace
}  // namespace portway::conformance
