// One loop of the XDP-loop engine of `portway pktgen send` (docs/performance.md "The XDP-loop
// engine"): an auxiliary veth pair in the calling thread's network namespace, the program
// pktgen_loop_turn (bpf/pktgen.bpf.c) on one end, broadcasting each frame it receives to the
// pair's other end (back to itself: the loop) and to the device towards the receiver (what is
// sent). Frames are made and sent by XDP alone, without BPF_PROG_RUN's live frames: for
// kernels that refuse those, at several times the packet socket's rate.
//
// The pair and the attachment exist as long as this object; the loop itself is bounded in the
// program by its frame limit and its deadline, so a process that dies mid-run leaves no frame
// turning past the deadline.
#pragma once

#include <chrono>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "loader/skeleton.h"
#include "loader/xdp_attachment.h"
#include "portway/pktgen_abi.h"
#include "pktgen.skel.h"

namespace portway::pktgen {

PORTWAY_SKELETON_TRAITS(PktgenTraits, pktgen);
using PktgenSkeleton = loader::Skeleton<PktgenTraits>;

struct LoopRun {
  portway_pktgen_counters flow{};  // the flow cursor to continue from (a CPU's slot)
  std::uint64_t limit = 0;         // frames to send, > 0
  std::chrono::steady_clock::time_point deadline;
  double rate_pps = 0;  // 0: as fast as the loop turns
  unsigned seeds = 16;  // strands started; more than one keeps the loop's NAPI busy
};

class XdpLoop {
 public:
  // Frames per strand start: 16 measured fastest at the first hop (docs/performance.md).
  static constexpr unsigned kSeeds = 16;

  // Creates the pair (named after the process and a sequence number), loads the program with
  // `config` and attaches it. `out_ifindex` is in the calling thread's namespace and its peer
  // must take XDP frames (an XDP program or GRO on it, as for live frames). Throws
  // loader::Error or std::system_error; creates nothing that outlives a throw.
  XdpLoop(const portway_pktgen_config& config, unsigned out_ifindex);
  ~XdpLoop();
  XdpLoop(const XdpLoop&) = delete;
  XdpLoop& operator=(const XdpLoop&) = delete;

  // Sets the run's state and sends `run.seeds` copies of `seed` (frame_len bytes) into the
  // loop from the calling thread, on whose CPU veth then runs the loop. Throws
  // std::invalid_argument for a bad run, std::system_error when the seeds cannot be sent.
  void start(const LoopRun& run, const std::vector<std::uint8_t>& seed);

  // Frames sent so far in this run.
  [[nodiscard]] std::uint64_t emitted() const;
  // True once every strand of the run has ended (the limit, the deadline or stop()).
  [[nodiscard]] bool finished() const;
  // Every strand ends at its next turn.
  void stop();
  // The loop's state now: its flow cursor to write back, and its counters.
  [[nodiscard]] portway_pktgen_loop state() const;

  [[nodiscard]] const std::string& seeding_link() const { return seeding_link_; }
  [[nodiscard]] const std::string& looping_link() const { return looping_link_; }

 private:
  // Removes the pair when the object goes or when the constructor throws after creating it.
  struct PairGuard {
    std::string name;
    ~PairGuard();
  };
  PairGuard pair_;
  std::string seeding_link_, looping_link_;
  PktgenSkeleton skel_;
  std::optional<loader::XdpAttachment> attachment_;
  unsigned seeds_ = 0;
};

}  // namespace portway::pktgen
