// Privilege gate for the root-only test tiers (bpf, integration).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace portway::test {

// Why this process cannot run a root-only test, or nullopt when it can.
[[nodiscard]] std::optional<std::string> root_missing_reason();

// True when the CI environment variable is exactly "true" (as CI runners and .ci/run set it).
[[nodiscard]] bool running_in_ci();

}  // namespace portway::test

// First statement of a root-only test (or of its fixture's SetUp()). Without root it skips with
// the reason; under CI=true it fails instead, because a root tier that skips in CI would
// silently stop being tested (docs/testing.md). Like GTEST_SKIP, it returns from the enclosing
// void function.
#define PORTWAY_REQUIRE_ROOT()                                                        \
  do {                                                                                \
    if (const auto portway_root_reason_ = ::portway::test::root_missing_reason()) {   \
      if (::portway::test::running_in_ci()) {                                         \
        GTEST_FAIL() << *portway_root_reason_ << ", and CI=true forbids skipping";    \
      }                                                                               \
      GTEST_SKIP() << *portway_root_reason_;                                          \
    }                                                                                 \
  } while (false)
