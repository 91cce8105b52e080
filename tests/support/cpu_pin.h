// Pins the calling thread to one CPU for a scope, e.g. to choose which per-CPU slot a
// BPF_PROG_TEST_RUN writes (the program runs on the CPU of the thread that made the syscall).
#pragma once

#include <sched.h>

#include <vector>

namespace portway::test {

// CPUs the calling thread may currently run on, ascending.
[[nodiscard]] std::vector<int> allowed_cpus();

class ScopedCpuPin {
 public:
  // Throws std::system_error if the thread cannot be moved to `cpu`.
  explicit ScopedCpuPin(int cpu);
  ~ScopedCpuPin();  // restores the previous affinity mask

  ScopedCpuPin(const ScopedCpuPin&) = delete;
  ScopedCpuPin& operator=(const ScopedCpuPin&) = delete;
  ScopedCpuPin(ScopedCpuPin&&) = delete;
  ScopedCpuPin& operator=(ScopedCpuPin&&) = delete;

 private:
  cpu_set_t previous_{};
};

}  // namespace portway::test
