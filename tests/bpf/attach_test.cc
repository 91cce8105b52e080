// XDP links pinned in bpffs and tc filters: attach, native->generic fallback, pin and reopen,
// atomic program replacement, removing only what portway created. Each test runs in a private
// network namespace with its own links, and pins under its own bpffs folder.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <filesystem>

#include "loader/bpffs.h"
#include "loader/cgroup_link.h"
#include "loader/libbpf_log.h"
#include "loader/error.h"
#include "loader/tc_filter.h"
#include "loader/unique_fd.h"
#include "loader/xdp_link.h"
#include "netlink/links.h"
#include "support/captured_log.h"
#include "support/netns.h"
#include "support/root.h"

namespace portway::loader {
namespace {

// "r0 = verdict; exit": the smallest valid program of a type, so these tests exercise the
// attach mechanics and nothing else. Raw instructions: linux/filter.h's macros are not UAPI.
UniqueFd trivial_program(bpf_prog_type type, int verdict) {
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, verdict},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const int fd = bpf_prog_load(type, "pw_trivial", "GPL", insns, 2, nullptr);
  if (fd < 0) throw Error("load trivial program", errno);
  return UniqueFd{fd};
}

// The same for the cgroup socket hooks: "r0 = 1; exit" lets every connect() through.
UniqueFd trivial_sock_addr_program(bpf_attach_type attach) {
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  bpf_prog_load_opts opts{};
  opts.sz = sizeof opts;
  opts.expected_attach_type = attach;  // sock_addr programs are verified for one hook
  const int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "pw_trivial", "GPL", insns, 2, &opts);
  if (fd < 0) throw Error("load trivial sock_addr program", errno);
  return UniqueFd{fd};
}

std::uint32_t prog_id(int prog_fd) {
  bpf_prog_info info{};
  __u32 len = sizeof info;
  check(bpf_obj_get_info_by_fd(prog_fd, &info, &len), "prog info");
  return info.id;
}

std::uint32_t attached_xdp_id(int ifindex) {
  bpf_xdp_query_opts opts{};
  opts.sz = sizeof opts;
  check(bpf_xdp_query(ifindex, 0, &opts), "xdp query");
  return opts.prog_id;
}

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    netns_ = std::make_unique<test::ScopedNetns>();
    netlink::create_veth("pwa0", "pwa1");
    netlink::set_link_up("pwa0");
    netlink::set_link_up("pwa1");
    veth_ = static_cast<int>(netlink::ifindex_of("pwa0"));
    pin_dir_ = "/sys/fs/bpf/portway-attach-test-" + std::to_string(getpid());
    ensure_bpffs(pin_dir_);
  }
  void TearDown() override {
    if (!pin_dir_.empty()) std::filesystem::remove_all(pin_dir_);
    netns_.reset();  // the namespace and its links disappear with it
  }

  std::unique_ptr<test::ScopedNetns> netns_;
  int veth_ = 0;
  std::string pin_dir_;
};

TEST_F(AttachTest, XdpLinkIsNativeOnVethAndSurvivesThroughItsPin) {
  const UniqueFd prog = trivial_program(BPF_PROG_TYPE_XDP, XDP_PASS);
  const std::string pin = pin_dir_ + "/xdp-pwa0";
  {
    XdpLink link = attach_xdp_link(prog.get(), veth_, true);
    EXPECT_EQ(link.mode, XdpMode::native);
    EXPECT_TRUE(link.fallback_reason.empty());
    pin_object(link.fd.get(), pin);
  }  // our last fd closed: only the pin keeps it
  EXPECT_EQ(attached_xdp_id(veth_), prog_id(prog.get()));

  const UniqueFd reopened = open_pinned(pin);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(xdp_link_info(reopened.get()).ifindex, static_cast<std::uint32_t>(veth_));

  const UniqueFd upgrade = trivial_program(BPF_PROG_TYPE_XDP, XDP_DROP);
  update_link_program(reopened.get(), upgrade.get());
  EXPECT_EQ(attached_xdp_id(veth_), prog_id(upgrade.get()));
  EXPECT_EQ(xdp_link_info(reopened.get()).prog_id, prog_id(upgrade.get()));

  unpin_and_detach(pin);
  EXPECT_EQ(attached_xdp_id(veth_), 0u);
  EXPECT_FALSE(std::filesystem::exists(pin));
  EXPECT_FALSE(open_pinned(pin)) << "an absent pin is not an error";
}

TEST_F(AttachTest, DeviceWithoutNativeXdpFallsBackToGenericAndSaysWhy) {
  // Loopback has no native XDP (no ndo_bpf), and this namespace has its own: the test's
  // "interface that cannot take native XDP". (This kernel has no dummy driver.)
  netlink::set_link_up("lo");
  const int dummy = static_cast<int>(netlink::ifindex_of("lo"));
  const UniqueFd prog = trivial_program(BPF_PROG_TYPE_XDP, XDP_PASS);
  try {
    attach_xdp_link(prog.get(), dummy, false);
    FAIL() << "native XDP on lo";
  } catch (const Error& e) {
    // The interface by name (`portway status` shows this), not "ifindex 1".
    EXPECT_NE(std::string(e.what()).find("attach XDP link to lo"), std::string::npos) << e.what();
  }
  XdpLink link = attach_xdp_link(prog.get(), dummy, true);
  EXPECT_EQ(link.mode, XdpMode::generic);
  EXPECT_NE(link.fallback_reason.find("native XDP refused by the driver of lo:"), std::string::npos)
      << link.fallback_reason;
  EXPECT_EQ(attached_xdp_id(dummy), prog_id(prog.get()));
}

TEST_F(AttachTest, AnotherProgramAlreadyAttachedIsNotOverridden) {
  const UniqueFd theirs = trivial_program(BPF_PROG_TYPE_XDP, XDP_PASS);
  check(bpf_xdp_attach(veth_, theirs.get(), XDP_FLAGS_DRV_MODE, nullptr), "attach theirs");
  const UniqueFd ours = trivial_program(BPF_PROG_TYPE_XDP, XDP_PASS);
  try {
    attach_xdp_link(ours.get(), veth_, true);
    FAIL() << "attached over someone else's program";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_code(), EBUSY) << e.what();
  }
  EXPECT_EQ(attached_xdp_id(veth_), prog_id(theirs.get()));
  bpf_xdp_detach(veth_, XDP_FLAGS_DRV_MODE, nullptr);
}

TEST_F(AttachTest, TcFilterReplacesOnlyItselfAndRemovesOnlyWhatItCreated) {
  const UniqueFd first = trivial_program(BPF_PROG_TYPE_SCHED_CLS, 0);
  const UniqueFd second = trivial_program(BPF_PROG_TYPE_SCHED_CLS, 0);
  EXPECT_EQ(tc_program_id(veth_, TcDirection::ingress), 0u);
  EXPECT_TRUE(attach_tc(veth_, TcDirection::ingress, first.get()).created_clsact);
  EXPECT_EQ(tc_program_id(veth_, TcDirection::ingress), prog_id(first.get()));
  EXPECT_FALSE(attach_tc(veth_, TcDirection::ingress, second.get()).created_clsact);
  EXPECT_EQ(tc_program_id(veth_, TcDirection::ingress), prog_id(second.get()));

  // Someone else's filter on the same hook, at another handle and priority.
  const UniqueFd foreign = trivial_program(BPF_PROG_TYPE_SCHED_CLS, 0);
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = veth_;
  hook.attach_point = BPF_TC_INGRESS;
  bpf_tc_opts theirs{};
  theirs.sz = sizeof theirs;
  theirs.handle = 1;
  theirs.priority = 1;
  theirs.prog_fd = foreign.get();
  check(bpf_tc_attach(&hook, &theirs), "attach foreign filter");

  detach_tc(veth_, TcDirection::ingress, false);
  EXPECT_EQ(tc_program_id(veth_, TcDirection::ingress), 0u);
  bpf_tc_opts query{};
  query.sz = sizeof query;
  query.handle = 1;
  query.priority = 1;
  ASSERT_EQ(bpf_tc_query(&hook, &query), 0) << "the foreign filter must survive";
  EXPECT_EQ(query.prog_id, prog_id(foreign.get()));

  detach_tc(veth_, TcDirection::ingress, true);  // now the qdisc goes, and everything on it
  EXPECT_NE(bpf_tc_query(&hook, &query), 0);
  EXPECT_NO_THROW(detach_tc(veth_, TcDirection::ingress, true)) << "idempotent";
}

TEST_F(AttachTest, ExpectedNetlinkMissesDoNotWarn) {
  route_libbpf_logs_to_spdlog();
  const test::CapturedLog log(spdlog::level::info);
  // No clsact on the fresh veth: the kernel answers with an extack libbpf echoes.
  EXPECT_EQ(tc_program_id(veth_, TcDirection::ingress), 0u);
  EXPECT_EQ(log.text().find("Qdisc"), std::string::npos) << log.text();
}

// The socket hooks' attachment: a pinned cgroup link on a cgroup of the test's own.
TEST(CgroupLink, AttachesPinsReportsAndDetaches) {
  PORTWAY_REQUIRE_ROOT();
  const auto root = cgroup2_mount();
  ASSERT_TRUE(root) << "no cgroup v2 hierarchy mounted";
  const std::string cg = *root + "/portway-attachtest-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0) << cg;
  const std::string pins = "/sys/fs/bpf/portway-attachtest-cg-" + std::to_string(getpid());
  std::filesystem::create_directories(pins);
  struct Cleanup {
    std::string cg, pins;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(pins, ec);  // last reference: the link detaches
      rmdir(cg.c_str());
    }
  } cleanup{cg, pins};

  const UniqueFd prog = trivial_sock_addr_program(BPF_CGROUP_INET4_CONNECT);
  EXPECT_EQ(cgroup_program_count(cg, BPF_CGROUP_INET4_CONNECT), 0u);
  {
    const UniqueFd link = attach_cgroup_link(prog.get(), cg, BPF_CGROUP_INET4_CONNECT);
    pin_object(link.get(), pins + "/link");
  }
  // The pin keeps it attached after the fd is gone, and says where it is.
  EXPECT_EQ(cgroup_program_count(cg, BPF_CGROUP_INET4_CONNECT), 1u);
  EXPECT_EQ(cgroup_program_count(cg, BPF_CGROUP_UDP4_SENDMSG), 0u);
  const UniqueFd reopened = open_pinned(pins + "/link");
  ASSERT_TRUE(reopened);
  const auto info = cgroup_link_info(reopened.get());
  EXPECT_EQ(info.cgroup_id, cgroup_id_of(cg));
  EXPECT_EQ(info.attach_type, static_cast<std::uint32_t>(BPF_CGROUP_INET4_CONNECT));
  EXPECT_EQ(info.prog_id, prog_id(prog.get()));
  EXPECT_NE(cgroup_id_of(cg), cgroup_id_of(*root));

  unpin_and_detach(pins + "/link");
  EXPECT_EQ(cgroup_program_count(cg, BPF_CGROUP_INET4_CONNECT), 0u)
      << "detached although this test still holds an fd of the link";
  EXPECT_THROW((void)attach_cgroup_link(prog.get(), cg + "-missing", BPF_CGROUP_INET4_CONNECT), Error);
}

TEST(NetnsCookie, DiffersBetweenNamespacesAndIsStableWithinOne) {
  PORTWAY_REQUIRE_ROOT();
  const std::uint64_t here = current_netns_cookie();
  EXPECT_NE(here, 0u);
  EXPECT_EQ(current_netns_cookie(), here);
  const test::ScopedNetns other;
  EXPECT_NE(current_netns_cookie(), here);
}

}  // namespace
}  // namespace portway::loader
