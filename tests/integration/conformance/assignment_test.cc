// Conformance scenario for how NEW-flow assignments move when one backend of N is added or
// removed (dataplane.md "new flows": consistent hashing, ~1/N moves). Open flows are covered by
// scale_up / scale_down; here every flow is forgotten first (as if it had expired), so the same
// 5-tuples are new flows again and the backend choice itself is measured.
#include <iostream>
#include <map>

#include "conformance_fixture.h"
#include "lab/probe_client.h"

namespace portway::conformance {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kFlows = 240;
constexpr std::size_t kBound = kFlows * 3 / 8 + 20;  // 1.5/N of K at N = 4, + slack

// Which sandbox answers each of kFlows client ports (one UDP flow each) at kVip:53. Bounded:
// 30 s in all, gives up after 10 unanswered flows in a row.
std::map<std::uint16_t, std::string> assignments(const std::string& netns, std::uint16_t first) {
  std::map<std::uint16_t, std::string> out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  int misses = 0;
  for (std::size_t i = 0; i < kFlows && misses < 10 && std::chrono::steady_clock::now() < deadline; ++i) {
    const auto port = static_cast<std::uint16_t>(first + i);
    out[port] = itest::who_sandbox(lab::udp_probe(netns, kVip, 53, "WHO", 300ms, port));
    misses = out[port].empty() ? misses + 1 : 0;
  }
  return out;
}

std::size_t moved(const std::map<std::uint16_t, std::string>& a, const std::map<std::uint16_t, std::string>& b) {
  std::size_t n = 0;
  for (const auto& [port, sb] : b) n += !sb.empty() && a.count(port) && a.at(port) != sb;
  return n;
}

std::size_t answered(const std::map<std::uint16_t, std::string>& a) {
  std::size_t n = 0;
  for (const auto& [port, sb] : a) n += !sb.empty();
  return n;
}

TEST_P(ConformanceTest, NewFlowAssignmentsOnScale) {
  const std::string s = "new_flow_assignments_on_scale";
  const std::uint16_t ports = 45000;
  apply_web(ground_->members({0, 1, 2}));
  const auto three = assignments(client(), ports);
  dp_->forget_flows();
  apply_web(ground_->all_members());  // + sb3
  dp_->settle();
  const auto four = assignments(client(), ports);
  dp_->forget_flows();
  apply_web(ground_->members({0, 1, 2}));  // - sb3
  dp_->settle();
  dp_->forget_flows();
  const auto back = assignments(client(), ports);
  record(s, "flows.answered", std::to_string(answered(three) + answered(four) + answered(back)));
  EXPECT_EQ(answered(three) + answered(four) + answered(back), 3 * kFlows);
  const std::size_t on_add = moved(three, four), on_remove = moved(four, back);
  std::cout << "[ moved   ] add: " << on_add << ", remove: " << on_remove << " of " << kFlows << " (bound " << kBound
            << ")\n";
  expect_field(s, "add.moved_within_1.5/N", yes_no(on_add <= kBound), "yes");
  expect_field(s, "remove.moved_within_1.5/N", yes_no(on_remove <= kBound), "yes");
}

}  // namespace
}  // namespace portway::conformance
