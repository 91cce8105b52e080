// CPUs for the generator's threads.
#pragma once

#include <string>
#include <vector>

namespace portway::pktgen {

// CPUs the calling thread may run on, ascending.
std::vector<int> allowed_cpus();
// libbpf_num_possible_cpus(): per-CPU slots in the kernel's maps.
unsigned possible_cpus();
// Pins the calling thread to one CPU; throws std::system_error.
void pin_current_thread(int cpu);
// "0,2-3" -> {0, 2, 3}; throws std::invalid_argument naming the bad piece.
std::vector<int> parse_cpu_list(const std::string& text);

}  // namespace portway::pktgen
