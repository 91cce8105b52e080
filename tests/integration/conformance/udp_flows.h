// Many UDP flows at once for the scale scenarios: one datagram per client port (each port a
// flow of its own) to the service's 53/udp, and which sandbox answered each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace portway::conformance {

// The scale scenarios' K flows, and the most that adding or removing one backend of N = 4 may
// move: 1.5/N of K, plus slack for random choice, whose share per backend is binomial
// (3 sigma of K/N is ~20 at K = 240).
inline constexpr std::size_t kScaleFlows = 240;
inline constexpr std::size_t kScaleBound = kScaleFlows * 3 / 8 + 20;

using Assignments = std::map<std::uint16_t, std::string>;  // client port -> sandbox ("" = no answer)

// Ports first .. first + count - 1. Bounded: 30 s in all, and it gives up after 10 unanswered
// flows in a row.
// To `vip`:53 (the run's family).
Assignments udp_assignments(const std::string& netns, const std::string& vip, std::uint16_t first, std::size_t count);

std::size_t answered(const Assignments& a);
// Flows answered in `after` by another sandbox than in `before`.
std::size_t moved(const Assignments& before, const Assignments& after);

}  // namespace portway::conformance
