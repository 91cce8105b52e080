// Conformance scenario for how NEW-flow assignments move when one backend of N is added or
// removed (docs/dataplane.md "Semantics", new flows: consistent hashing, ~1/N moves). Open flows
// are covered by scale_up / scale_down; here every flow is forgotten first (as if it had expired),
// so the same 5-tuples are new flows again and the backend choice itself is measured.
#include <iostream>

#include "conformance_fixture.h"
#include "udp_flows.h"

namespace portway::conformance {
namespace {

TEST_P(ConformanceTest, NewFlowAssignmentsOnScale) {
  const std::string s = "new_flow_assignments_on_scale";
  const std::uint16_t ports = 45000;
  apply_web(ground_->members({0, 1, 2}));
  const auto three = udp_assignments(client(), vip(), ports, kScaleFlows);
  dp_->forget_flows();
  apply_web(ground_->all_members());  // + sb3
  dp_->settle();
  const auto four = udp_assignments(client(), vip(), ports, kScaleFlows);
  dp_->forget_flows();
  apply_web(ground_->members({0, 1, 2}));  // - sb3
  dp_->settle();
  dp_->forget_flows();
  const auto back = udp_assignments(client(), vip(), ports, kScaleFlows);
  record(s, "flows.answered", std::to_string(answered(three) + answered(four) + answered(back)));
  EXPECT_EQ(answered(three) + answered(four) + answered(back), 3 * kScaleFlows);
  const std::size_t on_add = moved(three, four), on_remove = moved(four, back);
  std::cout << "[ moved   ] add: " << on_add << ", remove: " << on_remove << " of " << kScaleFlows << " (bound " << kScaleBound
            << ")\n";
  expect_field(s, "add.moved_within_1.5/N", yes_no(on_add <= kScaleBound), "yes");
  expect_field(s, "remove.moved_within_1.5/N", yes_no(on_remove <= kScaleBound), "yes");
}

}  // namespace
}  // namespace portway::conformance
