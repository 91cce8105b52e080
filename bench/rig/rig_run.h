// The packet rig (docs/performance.md "Packet rig"): generator namespace -> node namespace ->
// two sink namespaces, every variant measured in one run, interleaved round by round.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pktgen/generator.h"

namespace portway::rig {

// In the order each round runs them.
inline const std::vector<std::string> kVariants{
    "xdp_drop",                  // XDP_DROP on the node's uplink: the first hop's limit
    "redirect",                  // XDP redirect to the sinks, no lookup: the ceiling when the
                                 // sandbox veths take XDP frames (native sinks only)
    "tc_redirect",               // XDP_PASS + tc bpf_redirect, no lookup: the ceiling at veth
                                 // defaults (what portway's tc hand-off can reach)
    "tc_redirect_peer",          // the same with bpf_redirect_peer (tc sinks only: it skips the
                                 // veth's receive, where a native XDP sink runs)
    "portway_xdp_established",   // the fast path, flows that exist (warmed up first)
    "portway_xdp_new",           // the fast path, a new 5-tuple on every frame
    "portway_xdp6_established",  // the same over IPv6
    "portway_xdp6_new",
    "portway_nft_established",   // the nftables fallback, flows that exist
    "portway_nft_new",           // the nftables fallback, a new 5-tuple on every frame
    "portway_nft6_established",  // the same over IPv6
    "portway_nft6_new",
};

struct RigOptions {
  std::string prefix;              // namespaces, pin folder and cgroup are named after it
  unsigned rounds = 5;
  double seconds = 2;              // per measurement
  double warmup_seconds = 0.2;     // established variants: send the flows once more first
  std::uint32_t flows = 1024;      // established variants
  // The fast path's connection capacity (the node setting maps.conntrack): how big the tables
  // are whose cache and TLB misses an all-new flood pays (docs/performance.md).
  std::uint32_t conntrack = 65536;
  std::uint16_t frame_size = 64;
  int cpu = -1;                    // generator (and with it node and sinks); -1: first allowed
  // Sinks in the driver's XDP mode (`portway pktgen sink`): the sandbox end then has an XDP
  // program, which gives the node's veth end NAPI and lets it take XDP_REDIRECTed frames. Off
  // (the default), the sinks count at the sandbox end's tc ingress and the sandbox veths stay
  // at kernel defaults, as a container runtime creates them (docs/performance.md "Packet rig").
  bool native_sinks = false;
  std::set<std::string> only;      // measure only these variants (empty: every one)
  // The generator's engine (pktgen/generator.h); automatic: live frames where the kernel runs
  // them, else the XDP loop (the packet socket only when asked for).
  pktgen::Engine engine = pktgen::Engine::automatic;
};

struct Measurement {
  std::uint64_t offered = 0;    // frames the generator sent
  std::uint64_t delivered = 0;  // frames the sinks counted (xdp_drop: frames the node's program saw)
  std::int64_t loss = 0;        // offered - delivered
  std::uint64_t rx_dropped = 0; // the uplink's rx_dropped (its XDP ring overflowing)
  double seconds = 0;           // the generator's
  [[nodiscard]] double offered_pps() const { return seconds > 0 ? static_cast<double>(offered) / seconds : 0; }
  [[nodiscard]] double delivered_pps() const { return seconds > 0 ? static_cast<double>(delivered) / seconds : 0; }
};

struct RigResult {
  std::map<std::string, std::vector<Measurement>> runs;  // variant -> one per round
  int cpu = -1;
  pktgen::Engine engine = pktgen::Engine::automatic;  // the one every measurement sent with
  std::uint64_t fill_frames = 0;  // new flows sent before each new-flow variant (0: none ran)
};

// Builds the rig, runs it, removes everything (also on a throw). `log` gets one line per
// measurement.
RigResult run_rig(const RigOptions& options, const std::function<void(const std::string&)>& log);

}  // namespace portway::rig
