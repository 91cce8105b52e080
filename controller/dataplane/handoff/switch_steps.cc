#include "dataplane/handoff/switch_steps.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "dataplane/handoff/flow_carry.h"

namespace portway::dataplane::handoff {
namespace {

// Runs one carry step; a failure is reported, never fatal to the switch.
template <typename Step>
bool carry_step(const char* what, std::vector<std::string>& notes, Step&& step) {
  try {
    step();
    return true;
  } catch (const std::exception& e) {
    notes.push_back(std::string("could not carry the established flows ") + what + ": " + e.what());
    spdlog::warn("dataplane switch: {}", notes.back());
    return false;
  }
}

}  // namespace

ApplyReport start_fast_path(xdp::XdpDataplane& xdp, const state::DataplaneState& desired, bool from_nft) {
  ApplyReport report = xdp.prepare(desired);
  std::optional<FlowsToFastPath> carry;
  if (from_nft) {
    if (!carry_step("from nftables", report.notes, [&] {
          carry.emplace(xdp::PinLayout{xdp.settings().bpffs_dir});
          carry->pass();
        }))
      carry.reset();
  }
  const auto again = [&] {
    if (carry && !carry_step("from nftables", report.notes, [&] { carry->pass(); })) carry.reset();
  };
  xdp.ensure_attached(report.notes, again);
  again();
  if (carry) report.notes.push_back(carry->counts().summary("from nftables"));
  return report;
}

void retire_fast_path(xdp::XdpDataplane& xdp, std::vector<std::string>& notes) {
  std::optional<FlowsToConntrack> carry;
  if (!carry_step("to nftables", notes, [&] {
        carry.emplace(xdp::PinLayout{xdp.settings().bpffs_dir});
        carry->pass();
      }))
    carry.reset();
  // Once the uplinks are detached no translated frame reaches the stack any more (the fast
  // path passes some there: no neighbour yet, or on a kernel without XDP metadata every frame
  // for a sandbox, docs/xdp-dataplane.md "Delivery"); from then on nftables has conntrack
  // running, and entries made of those frames would shadow carried ones: that pass re-seeds
  // every flow.
  // The clsact qdiscs stay: taking one off a busy interface drops what it sends meanwhile.
  xdp.remove_in_order(
      [&](xdp::XdpDataplane::RemovalStep step) {
        const bool all = step == xdp::XdpDataplane::RemovalStep::uplinks_detached;
        if (carry && !carry_step("to nftables", notes, [&] { carry->pass(all); })) carry.reset();
      },
      xdp::CreatedQdiscs::keep);
  if (carry && carry->active()) notes.push_back(carry->counts().summary("to nftables"));
}

}  // namespace portway::dataplane::handoff
