#include "udp_flows.h"

#include <chrono>

#include "conformance_fixture.h"
#include "lab/probe_client.h"
#include "lab_ground.h"

namespace portway::conformance {

using namespace std::chrono_literals;

Assignments udp_assignments(const std::string& netns, const std::string& vip, std::uint16_t first, std::size_t count) {
  Assignments out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  int misses = 0;
  for (std::size_t i = 0; i < count && misses < 10 && std::chrono::steady_clock::now() < deadline; ++i) {
    const auto port = static_cast<std::uint16_t>(first + i);
    const std::string sb = itest::who_sandbox(lab::udp_probe(netns, vip, 53, "WHO", 300ms, port));
    misses = sb.empty() ? misses + 1 : 0;
    out[port] = sb;
  }
  return out;
}

std::size_t answered(const Assignments& a) {
  std::size_t n = 0;
  for (const auto& [port, sb] : a) n += !sb.empty();
  return n;
}

std::size_t moved(const Assignments& before, const Assignments& after) {
  std::size_t n = 0;
  for (const auto& [port, sb] : after) {
    const auto it = before.find(port);
    n += !sb.empty() && it != before.end() && !it->second.empty() && it->second != sb;
  }
  return n;
}

}  // namespace portway::conformance
