#include "pktgen/cpus.h"

#include <pthread.h>
#include <sched.h>

#include <bpf/libbpf.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>

namespace portway::pktgen {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) throw std::system_error(errno, std::generic_category(), "sched_getaffinity");
  std::vector<int> out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

unsigned possible_cpus() {
  const int n = libbpf_num_possible_cpus();
  if (n <= 0) throw std::system_error(-n, std::generic_category(), "possible CPUs");
  return static_cast<unsigned>(n);
}

void pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "pin thread to CPU " + std::to_string(cpu));
}

std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> out;
  std::size_t pos = 0;
  // Bounded by the text's length: every piece consumes at least one character.
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string piece = text.substr(pos, comma - pos);
    const auto number = [&](const std::string& s) {
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 4)
        throw std::invalid_argument("bad CPU list piece \"" + piece + "\" (want e.g. 0,2-3)");
      return std::stoi(s);
    };
    const std::size_t dash = piece.find('-');
    const int lo = number(piece.substr(0, dash));
    const int hi = dash == std::string::npos ? lo : number(piece.substr(dash + 1));
    if (hi < lo || hi >= CPU_SETSIZE) throw std::invalid_argument("bad CPU range \"" + piece + "\"");
    for (int c = lo; c <= hi; ++c) out.push_back(c);
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace portway::pktgen
