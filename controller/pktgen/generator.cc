#include "pktgen/generator.h"

#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "loader/percpu_map.h"
#include "loader/skeleton.h"
#include "loader/xdp_features.h"
#include "pktgen/cpus.h"
#include "pktgen/frame_writer.h"
#include "pktgen/packet_socket.h"
#include "pktgen/send_chunk.h"
#include "pktgen/xdp_loop.h"

namespace portway::pktgen {

const char* engine_name(Engine e) {
  switch (e) {
    case Engine::automatic: return "auto";
    case Engine::live_frames: return "live-frames";
    case Engine::packet_socket: return "packet-socket";
    case Engine::xdp_loop: return "xdp-loop";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

// What every thread is given, whichever engine sends.
struct Pace {
  int cpu = 0;
  std::uint64_t quota = 0;  // 0: no count bound
  double rate = 0;          // frames per second for this thread; 0: none
  Clock::time_point start, deadline;
};

struct Shared {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> calls{0};
  std::atomic<bool> stop{false};
  std::atomic<unsigned> running{0};
  std::mutex error_mutex;
  std::exception_ptr error;
};

// Runs `send(n, deadline)` (which sends up to n frames and says how many went) until the quota
// is met, the deadline passes or another thread failed, at most `rate` frames per second.
template <class Send>
void paced_thread(const Pace& pace, Shared& shared, Send&& send) {
  try {
    pin_current_thread(pace.cpu);
    // Paced: a millisecond's frames per call. Unpaced: sized by the previous call's rate
    // (send_chunk.h).
    std::uint64_t chunk = pace.rate > 0 ? std::clamp<std::uint64_t>(static_cast<std::uint64_t>(pace.rate / 1000), 1,
                                                                     kFirstSendChunk)
                                        : kFirstSendChunk;
    std::uint64_t done = 0;
    // Bounded by the deadline (checked between calls, each at most kMaxSendChunk frames and
    // about kSendCallTarget long) and by the quota.
    while (!shared.stop.load(std::memory_order_relaxed) && (pace.quota == 0 || done < pace.quota)) {
      if (pace.rate > 0) {
        const auto due = pace.start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(static_cast<double>(done) / pace.rate));
        if (due >= pace.deadline) break;
        std::this_thread::sleep_until(due);
      }
      if (Clock::now() >= pace.deadline) break;
      const std::uint64_t n = pace.quota == 0 ? chunk : std::min(chunk, pace.quota - done);
      const auto before = Clock::now();
      const std::uint64_t went = send(n, pace.deadline);
      if (pace.rate <= 0) chunk = next_send_chunk(went, Clock::now() - before);
      done += went;
      shared.sent.fetch_add(went, std::memory_order_relaxed);
      shared.calls.fetch_add(1, std::memory_order_relaxed);
    }
  } catch (...) {
    const std::lock_guard lock(shared.error_mutex);
    if (!shared.error) shared.error = std::current_exception();
    shared.stop = true;
  }
  shared.running.fetch_sub(1);
}

// Live frames: the program makes and sends n frames in one BPF_PROG_RUN.
struct LiveFrames {
  int prog_fd = -1;
  const std::vector<std::uint8_t>* frame = nullptr;
  unsigned ifindex = 0;
  std::uint32_t batch_size = 64;

  std::uint64_t operator()(std::uint64_t n, Clock::time_point /*deadline*/) const {
    xdp_md ctx{};
    // The kernel wants the frame's size here and the ingress device whose XDP_TX sends it.
    ctx.data_end = static_cast<std::uint32_t>(frame->size());
    ctx.ingress_ifindex = ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame->data(),
                .data_size_in = static_cast<__u32>(frame->size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(n),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch_size);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
      throw std::system_error(errno, std::generic_category(),
                              "BPF_PROG_RUN with live frames on ifindex " + std::to_string(ifindex));
    return n;
  }
};

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Packet socket: frames written here, `batch` at a time, each batch sent with one sendmmsg
// and what the device refused sent again until the deadline. The flow counters are this
// thread's CPU's slot, written back when the send ends.
class SocketFrames {
 public:
  SocketFrames(const FrameWriter& writer, PacketSocket& socket, std::size_t batch, std::uint32_t cpu,
               portway_pktgen_counters& counters, std::uint8_t new_flow_per_frame, std::uint32_t flows)
      : writer_(writer), socket_(socket), batch_(batch), cpu_(cpu), counters_(counters),
        new_flow_per_frame_(new_flow_per_frame), flows_(flows), frames_(batch * writer.frame_size(), 0) {}

  std::uint64_t operator()(std::uint64_t n, Clock::time_point deadline) {
    const std::size_t size = writer_.frame_size();
    std::uint64_t sent = 0;
    while (sent < n) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(batch_, n - sent));
      // The stamp is the time the batch is written: its frames leave within microseconds.
      const std::uint64_t now = monotonic_ns();
      for (std::size_t i = 0; i < k; ++i)
        writer_.write(portway_pktgen_next_flow(&counters_, flows_, new_flow_per_frame_),
                      {frames_.data() + i * size, size}, cpu_, now);
      std::size_t went = 0;
      while (went < k) {
        went += socket_.send(frames_.data() + went * size, size, k - went);
        if (went < k) {
          if (Clock::now() >= deadline) return sent + went;
          std::this_thread::yield();  // the receiver's softirq or thread drains the queue
        }
      }
      sent += k;
    }
    return sent;
  }

 private:
  const FrameWriter& writer_;
  PacketSocket& socket_;
  std::size_t batch_;
  std::uint32_t cpu_;
  portway_pktgen_counters& counters_;
  std::uint8_t new_flow_per_frame_;
  std::uint32_t flows_;
  std::vector<std::uint8_t> frames_;
};

// XDP loop: the program sends; this thread seeds the loop (so that veth runs it on this CPU),
// then follows its count until every strand ended. The program keeps the count, the rate and
// the deadline; the thread stops the loop early when another thread failed.
void loop_thread(const Pace& pace, Shared& shared, XdpLoop& loop, const std::vector<std::uint8_t>& seed,
                 portway_pktgen_counters& cursor) {
  try {
    pin_current_thread(pace.cpu);
    LoopRun run;
    run.flow = cursor;
    // Without a count the deadline alone ends the run.
    run.limit = pace.quota != 0 ? pace.quota : ~0ull;
    run.deadline = pace.deadline;
    run.rate_pps = pace.rate;
    run.seeds = XdpLoop::kSeeds;
    loop.start(run, seed);
    std::uint64_t reported = 0;
    // Bounded: every strand ends by the deadline in the program, and stop() ends them at their
    // next turn; the grace covers a strand lost on the way (it never reports its end).
    const auto give_up = pace.deadline + std::chrono::milliseconds(200);
    while (!loop.finished() && Clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (shared.stop.load(std::memory_order_relaxed) || Clock::now() >= pace.deadline) loop.stop();
      const std::uint64_t now = loop.emitted();
      shared.sent.fetch_add(now - reported, std::memory_order_relaxed);
      reported = now;
    }
    loop.stop();
    const portway_pktgen_loop state = loop.state();
    shared.sent.fetch_add(state.emitted - reported, std::memory_order_relaxed);
    cursor = state.flow;
  } catch (...) {
    const std::lock_guard lock(shared.error_mutex);
    if (!shared.error) shared.error = std::current_exception();
    shared.stop = true;
  }
  shared.running.fetch_sub(1);
}

Engine resolve(Engine asked) {
  const bool live = loader::xdp_live_frames_supported();
  if (asked == Engine::automatic) return live ? Engine::live_frames : Engine::packet_socket;
  // Said as what it is, not as a missing privilege (the kernel answers EPERM).
  if (asked == Engine::live_frames && !live)
    throw std::runtime_error(
        "this kernel refuses BPF_PROG_RUN with live frames (BPF_F_TEST_XDP_LIVE_FRAMES): the "
        "live-frames engine cannot send from this machine; the packet-socket engine can");
  return asked;
}

}  // namespace

struct Generator::Impl {
  PktgenSkeleton skel;
  portway_pktgen_config config;
  FrameWriter writer;
};

Generator::Generator(const FrameSpec& spec) : frame_(initial_frame(spec)) {
  const portway_pktgen_config config = to_config(spec);
  impl_ = std::make_unique<Impl>(Impl{PktgenSkeleton::open_and_load([&](struct ::pktgen& s) {
                                        const_cast<portway_pktgen_config&>(s.rodata->pktgen_config) = config;
                                      }),
                                      config, FrameWriter(config)});
}

Generator::~Generator() = default;

int Generator::prog_fd() const { return bpf_program__fd(impl_->skel->progs.pktgen); }

std::uint64_t Generator::bad_length() const {
  return loader::PerCpuArray<portway_pktgen_counters>(impl_->skel->maps.pktgen_counters).sum(0).bad_length;
}

// Thread i (on cpus[i]) makes new flows base + i, base + i + threads, ...; base is past the
// furthest flow any CPU made so far. The frame counts stay as they are.
void Generator::set_flow_interleave(const std::vector<int>& cpus, unsigned threads) {
  std::vector<portway_pktgen_counters> slots = read_counters();
  std::uint64_t base = 0;
  for (const auto& slot : slots) base = std::max<std::uint64_t>(base, slot.next_flow);
  for (unsigned i = 0; i < threads; ++i) {
    slots.at(static_cast<std::size_t>(cpus[i])).next_flow = base + i;
    slots.at(static_cast<std::size_t>(cpus[i])).flow_stride = threads;
  }
  write_counters(slots);
}

std::vector<portway_pktgen_counters> Generator::read_counters() const {
  const int fd = bpf_map__fd(impl_->skel->maps.pktgen_counters);
  std::vector<portway_pktgen_counters> slots(possible_cpus());  // 32 bytes: the kernel's 8-byte stride
  const __u32 key = 0;
  if (bpf_map_lookup_elem(fd, &key, slots.data()) != 0)
    throw std::system_error(errno, std::generic_category(), "read the generator's per-CPU counters");
  return slots;
}

void Generator::write_counters(const std::vector<portway_pktgen_counters>& slots) {
  const int fd = bpf_map__fd(impl_->skel->maps.pktgen_counters);
  const __u32 key = 0;
  if (bpf_map_update_elem(fd, &key, slots.data(), BPF_ANY) != 0)
    throw std::system_error(errno, std::generic_category(), "write the generator's per-CPU counters");
}

SendResult Generator::send(const SendPlan& plan, const std::function<void(const SendProgress&)>& progress) {
  const Engine engine = resolve(plan.engine);
  if (plan.ifindex == 0) throw std::invalid_argument("no interface to send on");
  if (plan.batch_size == 0 || plan.batch_size > 256)
    throw std::invalid_argument("batch size must be 1..256 (the kernel's limit for live frames)");
  if (plan.duration.count() <= 0) throw std::invalid_argument("the duration must be positive");
  const std::vector<int> cpus = plan.cpus.empty() ? allowed_cpus() : plan.cpus;
  if (cpus.empty()) throw std::invalid_argument("no CPU to run on");
  const unsigned threads = static_cast<unsigned>(
      plan.count != 0 ? std::min<std::uint64_t>(cpus.size(), plan.count) : cpus.size());

  set_flow_interleave(cpus, threads);

  // The packet-socket and XDP-loop engines: sockets and loops made here, in the caller's
  // network namespace, and each thread's copy of its CPU's flow counters.
  const bool cursor_engine = engine == Engine::packet_socket || engine == Engine::xdp_loop;
  std::vector<std::unique_ptr<PacketSocket>> sockets;
  std::vector<std::unique_ptr<XdpLoop>> loops;
  std::vector<portway_pktgen_counters> slots;
  if (cursor_engine) slots = read_counters();
  for (unsigned i = 0; i < threads && engine == Engine::packet_socket; ++i)
    sockets.push_back(std::make_unique<PacketSocket>(plan.ifindex, plan.batch_size));
  for (unsigned i = 0; i < threads && engine == Engine::xdp_loop; ++i)
    loops.push_back(std::make_unique<XdpLoop>(impl_->config, plan.ifindex));
  std::vector<portway_pktgen_counters> cursors(threads);
  for (unsigned i = 0; i < threads && cursor_engine; ++i)
    cursors[i] = slots.at(static_cast<std::size_t>(cpus[i]));

  Shared shared;
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  const auto deadline = start + plan.duration;
  shared.running = threads;
  for (unsigned i = 0; i < threads; ++i) {
    Pace pace;
    pace.cpu = cpus[i];
    if (plan.count != 0) pace.quota = plan.count / threads + (i < plan.count % threads ? 1 : 0);
    if (plan.rate_pps != 0) pace.rate = static_cast<double>(plan.rate_pps) / threads;
    pace.start = start;
    pace.deadline = deadline;
    if (engine == Engine::live_frames) {
      const LiveFrames live{prog_fd(), &frame_, plan.ifindex, plan.batch_size};
      workers.emplace_back([pace, live, &shared] { paced_thread(pace, shared, live); });
    } else if (engine == Engine::xdp_loop) {
      workers.emplace_back([pace, &shared, this, &loops, &cursors, i] {
        loop_thread(pace, shared, *loops[i], frame_, cursors[i]);
      });
    } else {
      workers.emplace_back([pace, &shared, this, &sockets, &cursors, i, &plan] {
        SocketFrames frames(impl_->writer, *sockets[i], plan.batch_size, static_cast<std::uint32_t>(pace.cpu),
                            cursors[i], impl_->config.new_flow_per_frame, impl_->config.flows);
        paced_thread(pace, shared, frames);
      });
    }
  }
  // Progress once per second until every thread is done; the threads themselves are bounded
  // by the deadline, so this loop is too.
  auto next_report = start + std::chrono::seconds(1);
  while (shared.running.load() != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now = Clock::now();
    if (progress && now >= next_report) {
      progress({std::chrono::duration<double>(now - start).count(), shared.sent.load()});
      next_report += std::chrono::seconds(1);
    }
  }
  for (auto& w : workers) w.join();
  const auto end = Clock::now();
  if (cursor_engine) {
    // Where each thread's flow sequence got to, for the next send (of any engine).
    for (unsigned i = 0; i < threads; ++i) slots.at(static_cast<std::size_t>(cpus[i])) = cursors[i];
    write_counters(slots);
  }
  if (shared.error) std::rethrow_exception(shared.error);
  return {shared.sent.load(), std::chrono::duration<double>(end - start).count(), threads, engine,
          shared.calls.load()};
}

}  // namespace portway::pktgen
