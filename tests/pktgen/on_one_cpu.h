// A fixture base for tests that run the generator program with BPF_PROG_TEST_RUN: root, and
// the whole test on one CPU. The program's flow counters are per CPU and a test run executes on
// the CPU of the calling thread, so a thread moved under load would start another CPU's
// sequence and repeat tuples.
#pragma once

#include <gtest/gtest.h>

#include <optional>

#include "support/cpu_pin.h"
#include "support/root.h"

namespace portway::test {

template <class Base>
class OnOneCpu : public Base {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    pin_.emplace(test::allowed_cpus().front());
  }
  void TearDown() override { pin_.reset(); }

 private:
  std::optional<test::ScopedCpuPin> pin_;
};

}  // namespace portway::test
