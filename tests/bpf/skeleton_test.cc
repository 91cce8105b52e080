// loader::Skeleton ownership: one destroy per skeleton, moves transfer it, load once.
#include "loader/skeleton.h"

#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "loader/error.h"
#include "loader/prog_info.h"
#include "loader/unique_fd.h"
#include "support/root.h"
#include "xdp_sink_skeleton.h"

namespace portway::test {
namespace {

class SkeletonTest : public ::testing::Test {
 protected:
  void SetUp() override { PORTWAY_REQUIRE_ROOT(); }

  static std::uint32_t prog_id(const XdpSink& skel) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.xdp_sink), &info, &len), 0);
    return info.id;
  }

  // Whether the kernel still has a program with this id. The id is the observable trace of
  // the program fd: it disappears once the last fd (ours, in the skeleton) is closed.
  static bool program_exists(std::uint32_t id) {
    const loader::UniqueFd fd{bpf_prog_get_fd_by_id(id)};
    return static_cast<bool>(fd);
  }
};

TEST_F(SkeletonTest, DestructorReleasesTheProgram) {
  std::uint32_t id = 0;
  {
    auto skel = XdpSink::open_and_load();
    id = prog_id(skel);
    ASSERT_NE(id, 0u);
    EXPECT_TRUE(program_exists(id));
  }
  EXPECT_FALSE(program_exists(id));
}

TEST_F(SkeletonTest, MoveTransfersOwnershipAndMoveAssignReleasesTheOldOne) {
  auto first = XdpSink::open_and_load();
  const auto first_id = prog_id(first);
  XdpSink moved = std::move(first);
  EXPECT_EQ(first.get(), nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_FALSE(first.loaded());
  EXPECT_TRUE(moved.loaded());
  EXPECT_TRUE(program_exists(first_id));

  auto second = XdpSink::open_and_load();
  const auto second_id = prog_id(second);
  moved = std::move(second);
  EXPECT_FALSE(program_exists(first_id)) << "move-assign must destroy the skeleton it replaces";
  EXPECT_TRUE(program_exists(second_id));
  EXPECT_EQ(prog_id(moved), second_id);
}

TEST_F(SkeletonTest, OpenThenConfigureThenLoadInSteps) {
  auto skel = XdpSink::open();
  EXPECT_FALSE(skel.loaded());
  EXPECT_LT(bpf_program__fd(skel->progs.xdp_sink), 0) << "nothing is in the kernel before load";
  skel->rodata->sink_verdict = XDP_PASS;
  skel.load();
  EXPECT_TRUE(skel.loaded());
  EXPECT_GE(bpf_program__fd(skel->progs.xdp_sink), 0);
  EXPECT_EQ(skel->rodata->sink_verdict, static_cast<std::uint32_t>(XDP_PASS));
}

TEST_F(SkeletonTest, SecondLoadIsAnError) {
  auto skel = XdpSink::open_and_load();
  try {
    skel.load();
    FAIL() << "second load succeeded";
  } catch (const loader::Error& e) {
    EXPECT_EQ(e.error_code(), EALREADY);
    EXPECT_NE(std::string{e.what()}.find("load skeleton xdp_sink"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace portway::test
