// The fast path's clock (bpf/lib/clock.h): jiffies converted to CLOCK_MONOTONIC ns with a tick
// length and an offset the kernel fixes at boot. Both are measured here, before portway_lb is
// loaded, and written into its rodata; without them the programs call
// bpf_ktime_get_coarse_ns instead (same clock, one helper call per packet more).
#pragma once

#include <cstdint>
#include <optional>

struct portway_lb;

namespace portway::loader {

struct JiffyClock {
  std::uint64_t tick_ns = 0;  // TICK_NSEC of the kernel's CONFIG_HZ
  std::int64_t offset_ns = 0;  // coarse monotonic ns - jiffies * tick_ns
};

// One sample of both clocks, taken by bpf/clock_probe.bpf.c in one program run.
struct ClockSample {
  std::uint64_t jiffies = 0;
  std::uint64_t coarse_ns = 0;
};

// From samples in the order taken: one point per tick (the median of its samples, from ticks
// with at least 3); the tick length, the TICK_NSEC of HZ 100, 250, 300 or 1000 under which
// most points (more than half, at least 3 spanning 2 ticks) give offsets within 250 us of
// each other; and the offset, the median of those points'. nullopt when no HZ has such a
// majority. Pure: tests feed it samples.
[[nodiscard]] std::optional<JiffyClock> jiffy_clock_from(const ClockSample* samples, std::size_t count);

// Runs the probe (bounded: over eight ticks, at most 40,000 samples and 250 ms, up to three
// tries) and converts; measured once per process. nullopt when the probe cannot load or run (the programs then use the helper).
[[nodiscard]] std::optional<JiffyClock> measure_jiffy_clock();

// Writes the clock into the object's rodata; between open and load. nullopt writes nothing.
void apply_clock(portway_lb& skel, const std::optional<JiffyClock>& clock);

// What a program of a loaded portway_lb uses (0 ticks: the helper).
[[nodiscard]] JiffyClock clock_of(const portway_lb& skel);

}  // namespace portway::loader
