#include "loader/lb_clock.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

#include "clock_probe.skel.h"
#include "loader/error.h"
#include "loader/lb_skeleton.h"
#include "loader/prog_test_run.h"
#include "loader/skeleton.h"

namespace portway::loader {
namespace {

PORTWAY_SKELETON_TRAITS(ClockProbeTraits, clock_probe);
using ClockProbe = Skeleton<ClockProbeTraits>;

// CONFIG_HZ's choices (kernel/Kconfig.hz) and the kernel's TICK_NSEC for each:
// (NSEC_PER_SEC + HZ / 2) / HZ.
constexpr std::array<std::uint64_t, 4> kHz{100, 250, 300, 1000};
constexpr std::uint64_t tick_nsec(std::uint64_t hz) { return (1'000'000'000ull + hz / 2) / hz; }

// The upper median of a non-empty set of values (taken by value: nth_element reorders it).
template <typename T>
T median_of(std::vector<T> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

ClockSample probe_once(int prog_fd) {
  // The smallest frame the kernel accepts for an XDP test run (an Ethernet header); the
  // program overwrites its first 16 bytes.
  std::array<std::uint8_t, 16> frame{};
  const TestRunResult r = test_run(prog_fd, frame);
  if (r.retval != 2 /* XDP_PASS */ || r.output.size() < 16) throw Error("run the clock probe", EIO);
  ClockSample s;
  std::memcpy(&s.jiffies, r.output.data(), 8);
  std::memcpy(&s.coarse_ns, r.output.data() + 8, 8);
  return s;
}

std::optional<JiffyClock> measure_once() {
  try {
    auto probe = ClockProbe::open_and_load();
    const int fd = bpf_program__fd(probe->progs.pw_clock_probe);
    // Every sample over eight ticks (32 ms at HZ 250, 80 ms at 100), bounded in count and
    // time: hundreds per tick, so the few a tick tears between their two reads are outvoted.
    // A second and third try when a stall on a loaded machine left too few ticks sampled.
    std::vector<ClockSample> samples;
    for (int attempt = 0; attempt < 3; ++attempt) {
      samples.assign(1, probe_once(fd));
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
      while (samples.size() < 40'000 && std::chrono::steady_clock::now() < deadline) {
        samples.push_back(probe_once(fd));
        if (samples.back().jiffies >= samples.front().jiffies + 8) break;
      }
      if (auto clock = jiffy_clock_from(samples.data(), samples.size())) return clock;
    }
    spdlog::warn("fast-path clock: 3 tries, the last {} samples over {} ticks, match no CONFIG_HZ; the "
                 "programs read bpf_ktime_get_coarse_ns per packet",
                 samples.size(), samples.back().jiffies - samples.front().jiffies);
    return std::nullopt;
  } catch (const Error& e) {
    spdlog::warn("fast-path clock: {}; the programs read bpf_ktime_get_coarse_ns per packet", e.what());
    return std::nullopt;
  }
}

}  // namespace

std::optional<JiffyClock> jiffy_clock_from(const ClockSample* samples, std::size_t count) {
  // One point per tick: the median coarse time of the samples that read that jiffy, from
  // ticks with at least 3 samples. A sample torn by a tick between its two reads is a tick
  // off, and a minority wherever the probe runs many times per tick.
  struct Point {
    std::uint64_t jiffies, coarse_ns;
  };
  std::vector<Point> points;
  for (std::size_t i = 0; i < count;) {
    std::size_t end = i;
    std::vector<std::uint64_t> ns;
    while (end < count && samples[end].jiffies == samples[i].jiffies) ns.push_back(samples[end++].coarse_ns);
    if (ns.size() >= 3) points.push_back({samples[i].jiffies, median_of(std::move(ns))});
    i = end;
  }
  if (points.size() < 3) return std::nullopt;
  // Each candidate tick length turns every point into an offset (coarse time less jiffies
  // times the tick). At the kernel's own tick the offsets agree up to the timer interrupt's
  // lateness, which a stalled VM stretches for a tick or two; at any other candidate they
  // drift by 667 us a tick or more (250 vs 300 Hz), so at most one of them lies within
  // kAgree of another. The candidate most points agree on wins, if they are most points:
  // one late tick can neither pick nor refuse a rate.
  constexpr std::int64_t kAgree = 250'000;
  std::optional<JiffyClock> best;
  std::size_t best_agreeing = 0;
  for (const std::uint64_t hz : kHz) {
    const std::uint64_t tick = tick_nsec(hz);
    std::vector<std::int64_t> offsets;
    offsets.reserve(points.size());
    for (const Point& p : points) offsets.push_back(static_cast<std::int64_t>(p.coarse_ns - p.jiffies * tick));
    const std::int64_t median = median_of(offsets);
    std::vector<std::int64_t> agreeing;
    std::uint64_t first_jiffy = UINT64_MAX, last_jiffy = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (std::llabs(offsets[i] - median) > kAgree) continue;
      agreeing.push_back(offsets[i]);
      first_jiffy = std::min(first_jiffy, points[i].jiffies);
      last_jiffy = std::max(last_jiffy, points[i].jiffies);
    }
    // Three points over at least two ticks, and more than half of all points.
    if (agreeing.size() < 3 || agreeing.size() * 2 <= points.size() || last_jiffy < first_jiffy + 2) continue;
    if (agreeing.size() <= best_agreeing) continue;
    best_agreeing = agreeing.size();
    best = JiffyClock{tick, median_of(std::move(agreeing))};
  }
  return best;
}

std::optional<JiffyClock> measure_jiffy_clock() {
  static std::once_flag once;
  static std::optional<JiffyClock> clock;
  std::call_once(once, [] { clock = measure_once(); });
  return clock;
}

void apply_clock(portway_lb& skel, const std::optional<JiffyClock>& clock) {
  if (!clock) return;
  skel.rodata->pw_clock_tick_ns = clock->tick_ns;
  skel.rodata->pw_clock_offset_ns = static_cast<std::uint64_t>(clock->offset_ns);
}

JiffyClock clock_of(const portway_lb& skel) {
  return JiffyClock{skel.rodata->pw_clock_tick_ns, static_cast<std::int64_t>(skel.rodata->pw_clock_offset_ns)};
}

}  // namespace portway::loader
