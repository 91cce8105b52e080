// Runs every fixture table (lb_fixtures_*.cc) through BPF_PROG_TEST_RUN: one gtest per
// fixture, named after it.
#include <gtest/gtest.h>

#include <exception>
#include <memory>
#include <ostream>
#include <set>
#include <string>

#include "lb_fixture.h"
#include "support/root.h"

namespace portway::test::lb {

// gtest prints parameters on failure; the name says which fixture it was.
void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

namespace {

class LbFixtureTest : public ::testing::TestWithParam<Fixture> {
 protected:
  // One lab (netns, topology, loaded object) for the whole suite; configure() resets the maps
  // before each fixture, and counters are compared as deltas.
  static void SetUpTestSuite() {
    if (root_missing_reason()) {
      return;
    }
    try {
      lab_ = std::make_unique<LbLab>();
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() { lab_.reset(); }

  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    ASSERT_TRUE(lab_) << "lab setup failed: " << setup_error_;
  }

  static std::unique_ptr<LbLab> lab_;
  static std::string setup_error_;
};

std::unique_ptr<LbLab> LbFixtureTest::lab_;
std::string LbFixtureTest::setup_error_;

TEST_P(LbFixtureTest, Packet) { run_fixture(*lab_, GetParam()); }

INSTANTIATE_TEST_SUITE_P(Lb, LbFixtureTest, ::testing::ValuesIn(all_fixtures()),
                         [](const ::testing::TestParamInfo<Fixture>& param) {
                           return param.param.name;
                         });

// The tables themselves: enough of them, and every name usable as a test name exactly once.
TEST(LbFixtureTables, AtLeast100FixturesWithUniqueNames) {
  const auto all = all_fixtures();
  std::set<std::string> names;
  std::size_t xdp = 0;
  std::size_t tc = 0;
  for (const auto& f : all) {
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate fixture name " << f.name;
    EXPECT_FALSE(f.steps.empty()) << f.name;
    bool has_tc = false;
    for (const auto& s : f.steps) {
      has_tc = has_tc || s.hook == Hook::kTc;
    }
    (has_tc ? tc : xdp) += 1;
  }
  EXPECT_GE(all.size(), 100u);
  std::cout << all.size() << " fixtures: " << xdp << " XDP, " << tc << " with tc steps\n";
  RecordProperty("fixtures", static_cast<int>(all.size()));
}

}  // namespace
}  // namespace portway::test::lb
