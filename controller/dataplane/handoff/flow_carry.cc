#include "dataplane/handoff/flow_carry.h"

#include <arpa/inet.h>

#include <cerrno>

#include "loader/error.h"

namespace portway::dataplane::handoff {
namespace {

auto key_of(const conntrack::NatFlow& f) {
  return std::make_tuple(f.client.value, f.frontend.value, f.client_port, f.frontend_port, f.protocol);
}

}  // namespace

std::string CarryCounts::summary(const char* what) const {
  std::string s = "carried " + std::to_string(carried) + " established flows " + what + " (" +
                  std::to_string(passes) + " passes";
  if (dropped) s += ", " + std::to_string(dropped) + " not carried: frontend or backend gone, idle too long or superseded";
  if (failed) s += ", " + std::to_string(failed) + " refused by the kernel";
  return s + ")";
}

FlowsToConntrack::FlowsToConntrack(const xdp::PinLayout& pins) : pinned_(xdp::PinnedLbMaps::open(pins)) {
  if (!pinned_) return;
  maps_.emplace(pinned_->fds());
  // Frontends and backends do not change during a switch: read once.
  tables_.emplace(FastPathTables::read(*maps_));
  conntrack_ = std::make_unique<conntrack::ConntrackTable>();
  timeouts_ = conntrack::SeedTimeouts::of_current_netns();
}

FlowsToConntrack::~FlowsToConntrack() = default;

void FlowsToConntrack::pass() {
  if (!maps_) return;
  ++counts_.passes;
  const auto bpf = maps_->flows();
  Converted converted = nat_flows_of(bpf, *tables_, coarse_now_ns());
  counts_.dropped = converted.dropped;  // of the last pass: every pass sees every flow
  std::vector<conntrack::NatFlow> fresh;
  for (const auto& f : converted.flows) {
    auto [it, inserted] = written_.try_emplace(key_of(f), f);
    if (!inserted && it->second.same_nat(f)) continue;
    it->second = f;
    fresh.push_back(f);
  }
  const conntrack::SeedCounts c = conntrack_->seed(fresh, timeouts_);
  counts_.carried += c.created + c.refreshed + c.replaced;
  counts_.dropped += c.expired + c.superseded;
  counts_.failed += c.failed;
}

FlowsToFastPath::FlowsToFastPath(const xdp::PinLayout& pins) : pinned_(xdp::PinnedLbMaps::open(pins)) {
  if (!pinned_) throw loader::Error("carry flows to the fast path", ENOENT, "its maps are not pinned under " + pins.dir);
  maps_.emplace(pinned_->fds());
  tables_.emplace(FastPathTables::read(*maps_));
  conntrack_ = std::make_unique<conntrack::ConntrackTable>();
}

FlowsToFastPath::~FlowsToFastPath() = default;

void FlowsToFastPath::pass() {
  ++counts_.passes;
  const auto entries = conntrack_->nat_flows();
  ConvertedBpf converted = bpf_flows_of(entries, *tables_, coarse_now_ns());
  counts_.dropped = converted.dropped;
  std::vector<BpfFlow> fresh;
  for (const auto& [k, f] : converted.flows) {
    const auto key = std::make_tuple(k.saddr, k.daddr, k.sport, k.dport, k.proto);
    const auto nat = std::make_tuple(f.backend_id, f.backend_addr, f.target_port, f.flags, f.snat_addr);
    auto [it, inserted] = written_.try_emplace(key, nat);
    if (!inserted && it->second == nat) continue;
    it->second = nat;
    fresh.emplace_back(k, f);
  }
  maps_->upsert_flows(fresh);
  counts_.carried += fresh.size();
}

}  // namespace portway::dataplane::handoff
