#include "support/cpu_pin.h"

#include <cerrno>
#include <string>
#include <system_error>

namespace portway::test {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  // pid 0: the calling thread, not the whole process.
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) {
    throw std::system_error(errno, std::generic_category(), "sched_getaffinity");
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      cpus.push_back(cpu);
    }
  }
  return cpus;
}

ScopedCpuPin::ScopedCpuPin(int cpu) {
  if (::sched_getaffinity(0, sizeof(previous_), &previous_) != 0) {
    throw std::system_error(errno, std::generic_category(), "sched_getaffinity");
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (::sched_setaffinity(0, sizeof(one), &one) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "sched_setaffinity to CPU " + std::to_string(cpu));
  }
}

ScopedCpuPin::~ScopedCpuPin() { ::sched_setaffinity(0, sizeof(previous_), &previous_); }

}  // namespace portway::test
