// The fast path as the product makes it: XdpDataplane whose switch steps (take_over,
// hand_over) carry the established flows between nftables and the fast path
// (switch_steps.h), so the owner of the node (agent::NodeDataplane) switches through the
// Dataplane interface alone.
#pragma once

#include "dataplane/xdp/xdp_dataplane.h"

namespace portway::dataplane::handoff {

class SwitchingFastPath final : public xdp::XdpDataplane {
 public:
  using XdpDataplane::XdpDataplane;

  // start_fast_path(): programmed, flows carried from conntrack when nftables is installed,
  // then attached.
  ApplyReport take_over(const state::DataplaneState& desired, bool other_installed) override;
  // retire_fast_path(): flows carried to conntrack around each detach step.
  void hand_over(std::vector<std::string>& notes) override;
};

}  // namespace portway::dataplane::handoff
