// Facts about the loaded LB programs and about BPF_PROG_TEST_RUN that the other LB tests
// rely on.
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "loader/error.h"
#include "loader/lb_clock.h"
#include "loader/lb_skeleton.h"
#include "loader/libbpf_log.h"
#include "loader/prog_info.h"
#include "loader/prog_test_run.h"
#include "loader/xdp_features.h"
#include "support/packet_builder.h"
#include "support/root.h"

namespace portway::test {
namespace {

// Both ways the object loads (loader/lb_clock.h): with the measured clock, as on a node, and
// without one, where every clock read keeps its helper call. Each is a different program for the
// verifier (it drops the branch the rodata rules out), and each must stay far from its limit.
void report_verified_instruction_counts(const std::optional<loader::JiffyClock>& clock, const std::string& label) {
  auto skel = loader::LbSkeleton::open_and_load([&](portway_lb& s) { loader::apply_clock(s, clock); });
  const struct {
    const char* name;
    int fd;
    std::uint32_t type;
  } progs[] = {
      {"pw_xdp_uplink", bpf_program__fd(skel->progs.pw_xdp_uplink), BPF_PROG_TYPE_XDP},
      {"pw_tc_sandbox", bpf_program__fd(skel->progs.pw_tc_sandbox), BPF_PROG_TYPE_SCHED_CLS},
      {"pw_tc_uplink", bpf_program__fd(skel->progs.pw_tc_uplink), BPF_PROG_TYPE_SCHED_CLS},
      {"pw_sock_connect4", bpf_program__fd(skel->progs.pw_sock_connect4), BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
      {"pw_sock_sendmsg4", bpf_program__fd(skel->progs.pw_sock_sendmsg4), BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
      {"pw_sock_recvmsg4", bpf_program__fd(skel->progs.pw_sock_recvmsg4), BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
      {"pw_sock_getpeername4", bpf_program__fd(skel->progs.pw_sock_getpeername4),
       BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
  };
  for (const auto& p : progs) {
    const auto info = loader::program_info(p.fd);
    // The kernel keeps BPF_OBJ_NAME_LEN - 1 = 15 characters of a program's name.
    EXPECT_EQ(info.name, std::string{p.name}.substr(0, 15));
    EXPECT_EQ(info.type, p.type);
    EXPECT_GT(info.verified_insns, 0u);
    // Far from the verifier's 1M limit, so a new semantics row does not hit it.
    EXPECT_LT(info.verified_insns, 500'000u);
    ::testing::Test::RecordProperty(label + "_" + p.name + "_verified_insns", static_cast<int>(info.verified_insns));
    ::testing::Test::RecordProperty(label + "_" + p.name + "_xlated_insns", static_cast<int>(info.xlated_insns));
    std::cout << label << " " << p.name << ": verifier processed " << info.verified_insns << " insns, "
              << info.xlated_insns << " insns after rewrites\n";
  }
}

TEST(LbPrograms, ReportVerifiedInstructionCounts) {
  PORTWAY_REQUIRE_ROOT();
  loader::route_libbpf_logs_to_spdlog();
  const auto clock = loader::measure_jiffy_clock();
  ASSERT_TRUE(clock.has_value()) << "the clock probe runs on this kernel";
  report_verified_instruction_counts(clock, "jiffy_clock");
  report_verified_instruction_counts(std::nullopt, "helper_clock");
}

// The probe (loader/xdp_features.h) answers as the verifier does: with the rodata forced to
// take the metadata hand-off, the object loads exactly when the probe said the kernel allows
// bpf_xdp_adjust_meta; as every LbSkeleton opens it (the probe's answer in the rodata), it
// always loads. A probe that said "yes" on a kernel that refuses the helper fails the first
// check; one that said "no" where it is allowed fails it too.
TEST(LbProgram, TheMetadataProbeAnswersAsTheVerifierDoes) {
  PORTWAY_REQUIRE_ROOT();
  loader::route_libbpf_logs_to_spdlog();
  auto forced = loader::LbSkeleton::open();
  forced->rodata->pw_handoff_by_metadata = 1;
  bool loaded = true;
  try {
    forced.load();
  } catch (const loader::Error& e) {
    loaded = false;
    std::cout << "with the hand-off forced on: " << e.what() << "\n";
  }
  EXPECT_EQ(loaded, loader::xdp_metadata_supported());
  std::cout << "this kernel " << (loader::xdp_metadata_supported() ? "gives" : "refuses")
            << " bpf_xdp_adjust_meta to XDP programs\n";
  auto as_opened = loader::LbSkeleton::open_and_load();
  EXPECT_EQ(as_opened->rodata->pw_handoff_by_metadata, loader::xdp_metadata_supported() ? 1u : 0u);
}

// Measured on 6.18: a tc test run refuses an IPv4 frame shorter than Ethernet + 20 bytes (and
// IPv6 shorter than + 40) and more than about a page of data, before the program runs. Such
// frames reach the tc program only live; the XDP fixtures cover short frames instead. If a
// kernel starts accepting them, this fails and they belong in the tc fixtures.
TEST(LbTcTestRun, KernelRefusesShortIpFramesAndFramesBeyondAPage) {
  PORTWAY_REQUIRE_ROOT();
  auto skel = loader::LbSkeleton::open_and_load();
  const int fd = bpf_program__fd(skel->progs.pw_tc_sandbox);
  for (const std::size_t size : {14u, 20u, 33u}) {
    std::vector<std::uint8_t> f(size, 0);
    f[12] = 0x08;
    EXPECT_THROW((void)loader::test_run(fd, f), loader::Error) << size << " bytes";
  }
  std::vector<std::uint8_t> v6(53, 0);
  v6[12] = 0x86;
  v6[13] = 0xdd;
  EXPECT_THROW((void)loader::test_run(fd, v6), loader::Error);
  const auto big = PacketBuilder{}.payload(std::vector<std::uint8_t>(5000, 1)).udp();
  EXPECT_THROW((void)loader::test_run(fd, big), loader::Error);
  std::vector<std::uint8_t> ip34(34, 0);
  ip34[12] = 0x08;
  EXPECT_NO_THROW((void)loader::test_run(fd, ip34));
}

}  // namespace
}  // namespace portway::test
