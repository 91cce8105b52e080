#include "pktgen/generator.h"

#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>

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
#include "pktgen.skel.h"

namespace portway::pktgen {
namespace {

PORTWAY_SKELETON_TRAITS(PktgenTraits, pktgen);
using PktgenSkeleton = loader::Skeleton<PktgenTraits>;

// Frames per BPF_PROG_RUN call without a rate limit: a few milliseconds of work, so a thread
// sees the deadline (and a stop) that often.
constexpr std::uint64_t kChunk = 8192;

using Clock = std::chrono::steady_clock;

struct ThreadJob {
  int prog_fd = -1;
  const std::vector<std::uint8_t>* frame = nullptr;
  unsigned ifindex = 0;
  std::uint32_t batch_size = 64;
  int cpu = 0;
  std::uint64_t quota = 0;  // 0: no count bound
  double rate = 0;          // frames per second for this thread; 0: none
  Clock::time_point start, deadline;
};

struct Shared {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<bool> stop{false};
  std::atomic<unsigned> running{0};
  std::mutex error_mutex;
  std::exception_ptr error;
};

void run_frames(const ThreadJob& job, std::uint64_t n) {
  xdp_md ctx{};
  // The kernel wants the frame's size here and the ingress device whose XDP_TX sends it.
  ctx.data_end = static_cast<std::uint32_t>(job.frame->size());
  ctx.ingress_ifindex = job.ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = job.frame->data(),
              .data_size_in = static_cast<__u32>(job.frame->size()), .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(n),
              .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = job.batch_size);
  if (bpf_prog_test_run_opts(job.prog_fd, &opts) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "BPF_PROG_RUN with live frames on ifindex " + std::to_string(job.ifindex));
}

void thread_main(const ThreadJob& job, Shared& shared) {
  try {
    pin_current_thread(job.cpu);
    const std::uint64_t chunk =
        job.rate > 0 ? std::clamp<std::uint64_t>(static_cast<std::uint64_t>(job.rate / 1000), 1, kChunk) : kChunk;
    std::uint64_t done = 0;
    // Bounded by the deadline (each call is at most kChunk frames) and by the quota.
    while (!shared.stop.load(std::memory_order_relaxed) && (job.quota == 0 || done < job.quota)) {
      if (job.rate > 0) {
        const auto due = job.start + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(static_cast<double>(done) / job.rate));
        if (due >= job.deadline) break;
        std::this_thread::sleep_until(due);
      }
      if (Clock::now() >= job.deadline) break;
      const std::uint64_t n = job.quota == 0 ? chunk : std::min(chunk, job.quota - done);
      run_frames(job, n);
      done += n;
      shared.sent.fetch_add(n, std::memory_order_relaxed);
    }
  } catch (...) {
    const std::lock_guard lock(shared.error_mutex);
    if (!shared.error) shared.error = std::current_exception();
    shared.stop = true;
  }
  shared.running.fetch_sub(1);
}

}  // namespace

struct Generator::Impl {
  PktgenSkeleton skel;
};

Generator::Generator(const FrameSpec& spec) : frame_(initial_frame(spec)) {
  const portway_pktgen_config config = to_config(spec);
  impl_ = std::make_unique<Impl>(Impl{PktgenSkeleton::open_and_load(
      [&](struct ::pktgen& s) { const_cast<portway_pktgen_config&>(s.rodata->pktgen_config) = config; })});
}

Generator::~Generator() = default;

int Generator::prog_fd() const { return bpf_program__fd(impl_->skel->progs.pktgen); }

std::uint64_t Generator::bad_length() const {
  return loader::PerCpuArray<portway_pktgen_counters>(impl_->skel->maps.pktgen_counters).sum(0).bad_length;
}

// Thread i (on cpus[i]) makes new flows base + i, base + i + threads, ...; base is past the
// furthest flow any CPU made so far. The frame counts stay as they are.
void Generator::set_flow_interleave(const std::vector<int>& cpus, unsigned threads) {
  const int fd = bpf_map__fd(impl_->skel->maps.pktgen_counters);
  const std::size_t n = possible_cpus();
  std::vector<portway_pktgen_counters> slots(n);  // 32 bytes: already the kernel's 8-byte stride
  const __u32 key = 0;
  if (bpf_map_lookup_elem(fd, &key, slots.data()) != 0)
    throw std::system_error(errno, std::generic_category(), "read the generator's per-CPU counters");
  std::uint64_t base = 0;
  for (const auto& slot : slots) base = std::max<std::uint64_t>(base, slot.next_flow);
  for (unsigned i = 0; i < threads; ++i) {
    slots.at(static_cast<std::size_t>(cpus[i])).next_flow = base + i;
    slots.at(static_cast<std::size_t>(cpus[i])).flow_stride = threads;
  }
  if (bpf_map_update_elem(fd, &key, slots.data(), BPF_ANY) != 0)
    throw std::system_error(errno, std::generic_category(), "write the generator's per-CPU counters");
}

SendResult Generator::send(const SendPlan& plan, const std::function<void(const SendProgress&)>& progress) {
  // Said as what it is, not as a missing privilege (the kernel answers EPERM).
  if (!loader::xdp_live_frames_supported())
    throw std::runtime_error(
        "this kernel refuses BPF_PROG_RUN with live frames (BPF_F_TEST_XDP_LIVE_FRAMES), which "
        "portway pktgen send is built on: it cannot send from this machine");
  if (plan.ifindex == 0) throw std::invalid_argument("no interface to send on");
  if (plan.batch_size == 0 || plan.batch_size > 256)
    throw std::invalid_argument("batch size must be 1..256 (the kernel's limit for live frames)");
  if (plan.duration.count() <= 0) throw std::invalid_argument("the duration must be positive");
  const std::vector<int> cpus = plan.cpus.empty() ? allowed_cpus() : plan.cpus;
  if (cpus.empty()) throw std::invalid_argument("no CPU to run on");
  const unsigned threads = static_cast<unsigned>(
      plan.count != 0 ? std::min<std::uint64_t>(cpus.size(), plan.count) : cpus.size());

  set_flow_interleave(cpus, threads);

  Shared shared;
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  const auto deadline = start + plan.duration;
  shared.running = threads;
  for (unsigned i = 0; i < threads; ++i) {
    ThreadJob job;
    job.prog_fd = prog_fd();
    job.frame = &frame_;
    job.ifindex = plan.ifindex;
    job.batch_size = plan.batch_size;
    job.cpu = cpus[i];
    if (plan.count != 0) job.quota = plan.count / threads + (i < plan.count % threads ? 1 : 0);
    if (plan.rate_pps != 0) job.rate = static_cast<double>(plan.rate_pps) / threads;
    job.start = start;
    job.deadline = deadline;
    workers.emplace_back([job, &shared] { thread_main(job, shared); });
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
  if (shared.error) std::rethrow_exception(shared.error);
  return {shared.sent.load(), std::chrono::duration<double>(end - start).count(), threads};
}

}  // namespace portway::pktgen
