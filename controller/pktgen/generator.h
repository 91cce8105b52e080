// The generator of `portway pktgen send`, one pinned thread per CPU, with one of three engines:
// - live frames: bpf/pktgen.bpf.c loaded with a FrameSpec, run with BPF_PROG_RUN +
//   BPF_F_TEST_XDP_LIVE_FRAMES, each frame an XDP_TX out of `ifindex` (to the veth's peer,
//   which needs an XDP program). No socket buffer is allocated per frame.
// - packet socket: the same frames written in user space (pktgen/frame_writer.h) and sent with
//   sendmmsg on an AF_PACKET socket; each frame is an skb through the device's xmit, as a
//   host's own traffic is. For kernels that refuse live frames.
// - XDP loop: per thread an auxiliary veth pair in the caller's namespace whose XDP program
//   broadcasts each frame back into its own loop and out of `ifindex` (pktgen/xdp_loop.h).
//   XDP frames like the live ones, without BPF_PROG_RUN; `ifindex`'s peer needs an XDP program
//   or GRO, as for live frames. The rate limit is kept by the program.
// All step the same per-CPU flow counters, so a flow sequence continues across sends and
// engines.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "pktgen/frame_spec.h"

namespace portway::pktgen {

enum class Engine { automatic, live_frames, packet_socket, xdp_loop };

// "live-frames", "packet-socket", "xdp-loop" ("auto" for automatic).
const char* engine_name(Engine e);

struct SendPlan {
  unsigned ifindex = 0;          // in the calling thread's network namespace
  std::vector<int> cpus;         // one thread each, pinned; empty: every CPU the caller may use
  std::uint64_t count = 0;       // frames in total; 0: until the duration ends
  std::chrono::milliseconds duration{10000};  // always a bound, also with a count
  std::uint64_t rate_pps = 0;    // over all threads; 0: as fast as the kernel takes them
  std::uint32_t batch_size = 64; // frames per kernel batch (BPF_PROG_RUN's batch_size or
                                 // sendmmsg's frames, <= 256)
  Engine engine = Engine::automatic;  // automatic: live frames where the kernel runs them
};

struct SendProgress {
  double seconds = 0;      // since the start
  std::uint64_t sent = 0;  // so far, all threads
};

struct SendResult {
  std::uint64_t sent = 0;     // frames sent: XDP_TX by the program, or taken by the socket
  double seconds = 0;         // first call to last return
  unsigned threads = 0;
  Engine engine = Engine::live_frames;  // the one that sent
  // Send calls the threads made (BPF_PROG_RUN calls with live frames, socket sends); 0 with
  // the XDP loop, whose program sends by itself. Unpaced calls last ~20 ms (send_chunk.h).
  std::uint64_t calls = 0;
  [[nodiscard]] double pps() const { return seconds > 0 ? static_cast<double>(sent) / seconds : 0; }
};

class Generator {
 public:
  // Loads the program (the verifier sees the spec as constants). Throws std::invalid_argument
  // for a bad spec, loader::Error when the kernel refuses.
  explicit Generator(const FrameSpec& spec);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // Sends until plan.count frames went out or plan.duration passed, whichever is first.
  // `progress` (optional) is called on the calling thread about once per second. Throws
  // std::system_error / std::invalid_argument for a bad plan or a kernel refusal (the first
  // thread's error; the others stop), std::runtime_error when live frames are asked for on a
  // kernel that refuses them.
  SendResult send(const SendPlan& plan, const std::function<void(const SendProgress&)>& progress = {});

  // The program's fd, e.g. for a single BPF_PROG_TEST_RUN of one frame.
  [[nodiscard]] int prog_fd() const;
  // Frames the program refused because the buffer was not frame_size long (0 when all is well).
  [[nodiscard]] std::uint64_t bad_length() const;
  [[nodiscard]] const std::vector<std::uint8_t>& frame() const { return frame_; }

 private:
  void set_flow_interleave(const std::vector<int>& cpus, unsigned threads);
  std::vector<portway_pktgen_counters> read_counters() const;
  void write_counters(const std::vector<portway_pktgen_counters>& slots);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::uint8_t> frame_;
};

}  // namespace portway::pktgen
