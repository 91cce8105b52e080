// The backend-set switch (lb_abi.h: flat slot array + one descriptor per set): slots are
// reused only after a grace period, a switch is never seen half done by a running program,
// and the installed tables are read back from the kernel by a new owner.
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <thread>
#include <vector>

#include "lb_fixture.h"
#include "loader/error.h"
#include "loader/lb_capacities.h"
#include "loader/lb_maps.h"
#include "loader/lb_skeleton.h"
#include "loader/libbpf_log.h"
#include "support/packet_edit.h"
#include "support/root.h"

namespace portway::test::lb {
namespace {

using loader::LbCapacities;
using loader::LbMaps;
using loader::open_and_load_lb;
using Clock = std::chrono::steady_clock;

LbCapacities tiny_caps() {
  return {.frontends = 16,
          .service_addrs = 16,
          .node_addrs = 4,
          .backends = 64,
          .backend_sets = 16,
          .maglev_slots = 1024,
          .flows = 1024,
          .fragments = 16};
}

std::vector<std::uint32_t> filled(std::size_t m, std::uint32_t id) {
  return std::vector<std::uint32_t>(m, id);
}

class BackendSetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    loader::route_libbpf_logs_to_spdlog();
  }
};

TEST_F(BackendSetsTest, RetiredSlotsAreReusedOnlyAfterAGracePeriod) {
  auto skel = open_and_load_lb(tiny_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  maps.install_backend_set(0, filled(251, 1));
  maps.install_backend_set(1, filled(251, 2));
  ASSERT_EQ(maps.grace_period_waits(), 1u) << "opening retires everything once";
  // 1024 slots: 502 in use, 522 free. Rebuilding set 0 takes fresh slots while the retired
  // ones wait; a wait happens exactly when the free slots no longer suffice.
  for (std::uint32_t round = 0; round < 12; ++round) {
    const std::uint64_t waits = maps.grace_period_waits();
    const bool must_wait = maps.slot_allocator().free_slots() < 251;
    const auto before = maps.backend_set_descriptor(0);
    maps.install_backend_set(0, filled(251, 3 + round));
    EXPECT_EQ(maps.grace_period_waits(), waits + (must_wait ? 1 : 0)) << "round " << round;
    EXPECT_EQ(maps.backend_set(0), filled(251, 3 + round));
    EXPECT_EQ(maps.backend_set(1), filled(251, 2)) << "another set's slots are never reused";
    // The slots just switched away from are not handed out again before a grace period.
    const auto after = maps.backend_set_descriptor(0);
    EXPECT_NE(pw_set_desc_offset(after), pw_set_desc_offset(before));
  }
  EXPECT_GE(maps.grace_period_waits(), 3u) << "12 rebuilds in 522 spare slots must reuse";
}

TEST_F(BackendSetsTest, OutOfSlotsLeavesEverySetAsItWasAndDeletedSetsFreeTheirs) {
  auto skel = open_and_load_lb(tiny_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  maps.install_backend_set(0, filled(251, 1));
  maps.install_backend_set(1, filled(251, 2));
  const auto used_free = maps.slot_allocator().free_slots() + maps.slot_allocator().retired_slots();
  try {
    maps.install_backend_set(2, filled(1021, 3));
    ADD_FAILURE() << "1021 slots cannot fit next to two tables of 251 in 1024";
  } catch (const loader::Error& e) {
    EXPECT_EQ(e.error_code(), ENOSPC) << e.what();
  }
  // A batch that fails on its second table gives back the first's slots, switches nothing.
  const loader::BackendSetTable batch[] = {{3, std::vector<std::uint32_t>(251, 4)},
                                           {4, std::vector<std::uint32_t>(1021, 5)}};
  EXPECT_THROW(maps.install_backend_sets(batch), loader::Error);
  EXPECT_TRUE(maps.backend_set(3).empty());
  EXPECT_EQ(maps.backend_set(0), filled(251, 1));
  EXPECT_EQ(maps.backend_set(1), filled(251, 2));
  EXPECT_EQ(maps.slot_allocator().free_slots() + maps.slot_allocator().retired_slots(), used_free);

  // Deleting both sets makes room (after the grace period the install waits for), and the
  // freed regions coalesce into one that a larger table fits.
  EXPECT_TRUE(maps.clear_backend_set(0));
  EXPECT_TRUE(maps.clear_backend_set(1));
  maps.install_backend_set(2, filled(1021, 3));
  EXPECT_EQ(maps.backend_set(2), filled(1021, 3));
  EXPECT_TRUE(maps.backend_set(0).empty());
}

TEST_F(BackendSetsTest, ANewOwnerReadsTheTablesBackAndNeverWritesOverThem) {
  auto caps = tiny_caps();
  caps.maglev_slots = 4096;
  auto skel = open_and_load_lb(caps);
  const auto fds = loader::lb_map_fds(*skel);
  std::vector<std::vector<std::uint32_t>> tables;
  {
    LbMaps first(fds);
    for (std::uint32_t set = 0; set < 3; ++set) {
      tables.push_back(filled(251 + set * 770, set + 1));  // 251, 1021, 1791 slots
      first.install_backend_set(set, tables.back());
    }
    first.install_backend_set(1, filled(1021, 9));  // the old 1021 retired, not yet free
    tables[1] = filled(1021, 9);
  }
  LbMaps second(fds);  // e.g. the daemon restarted: same pinned maps
  for (std::uint32_t set = 0; set < 3; ++set) EXPECT_EQ(second.backend_set(set), tables[set]);
  // Free: 4096 - 251 - 1021 - 1791 = 1033 slots, all unknown to the new owner: it waits once
  // before it writes into any of them, and never into a live table.
  second.install_backend_set(3, filled(1021, 7));
  EXPECT_EQ(second.grace_period_waits(), 1u);
  for (std::uint32_t set = 0; set < 3; ++set) EXPECT_EQ(second.backend_set(set), tables[set]);
  EXPECT_EQ(second.backend_set(3), filled(1021, 7));

  // A descriptor overlapping another set's table (only a bug writes one) is cleared on open;
  // the table it overlapped stays.
  const std::uint32_t key = 5;
  const std::uint64_t bad = second.backend_set_descriptor(0);
  ASSERT_EQ(bpf_map_update_elem(fds.set_descs, &key, &bad, BPF_ANY), 0);
  LbMaps third(fds);
  EXPECT_EQ(third.backend_set_descriptor(5), 0u);
  EXPECT_EQ(third.backend_set(0), tables[0]);
}

// Sets rebuilt and resized as fast as the loader can, while new flows are picked from them by
// the program on another thread: every pick names a backend of a table that was installed
// during (or right before) that packet's run, never a stale or half-written one, and never
// none. Each table version v fills all its slots with one backend, id kFirst + v % kIds, so
// the version a pick came from can be told.
TEST_F(BackendSetsTest, PacketsSeeOldOrNewTableNeverAMix) {
  LbLab lab;
  auto& maps = lab.maps();
  constexpr std::uint32_t kFirst = 44;
  constexpr std::uint32_t kIds = 16;  // ids 44..59, all running members of set C
  for (std::uint32_t i = 0; i < kIds; ++i) {
    pw_backend b{};
    b.addr = be32(Ipv4Address{198, 18, 128, static_cast<std::uint8_t>(kFirst + i)});
    b.set_id = kSetC;
    b.state = PW_BACKEND_RUNNING;
    maps.set_backend(kFirst + i, b);
  }
  constexpr std::uint32_t kSizes[] = {251, 1021, 4093};
  const auto table_of = [&](std::uint64_t v) {
    return filled(kSizes[v % 3], kFirst + static_cast<std::uint32_t>(v % kIds));
  };
  maps.install_backend_set(kSetC, table_of(0));

  std::atomic<std::uint64_t> installed{0};  // the newest version whose install returned
  std::atomic<bool> stop{false};
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  std::thread writer([&] {
    // Bounded: at most this many versions, and never past the deadline.
    for (std::uint64_t v = 1; v <= 200000 && !stop.load() && Clock::now() < deadline; ++v) {
      maps.install_backend_set(kSetC, table_of(v));
      installed.store(v);
    }
    stop.store(true);
  });

  std::uint64_t runs = 0;
  std::uint64_t violations = 0;
  for (std::uint16_t i = 0; !stop.load() && runs < 400000 && Clock::now() < deadline; ++i) {
    const std::uint64_t before = installed.load();
    const auto frame = from_client(kSvcC, 53).src_port(static_cast<std::uint16_t>(1024 + i % 60000)).udp();
    const auto r = lab.run_xdp(frame);
    const std::uint64_t after = installed.load();
    ++runs;
    // The program ran on a table of version >= before (that switch had happened) and
    // <= after + 1 (the next switch may have happened before its install returned).
    const std::uint8_t last = r.output.size() > kL3Offset + 19 ? r.output[kL3Offset + 19] : 0;
    bool ok = false;
    for (std::uint64_t v = before; v <= after + 1 && !ok; ++v) {
      ok = last == kFirst + v % kIds;
    }
    if (!ok && ++violations <= 5) {
      ADD_FAILURE() << "run " << runs << ": picked .." << int{last} << " while versions "
                    << before << ".." << after + 1 << " were installed";
    }
    if (runs % 4096 == 0) maps.clear_conntrack();  // keep the picks new flows
  }
  stop.store(true);
  writer.join();
  EXPECT_EQ(violations, 0u) << "of " << runs << " runs";
  EXPECT_GT(runs, 1000u);
  EXPECT_GT(installed.load(), 100u) << "the sets must really have changed under the packets";
  EXPECT_GT(maps.grace_period_waits(), 2u) << "and slots must have been reused";
  std::cout << runs << " picks over " << installed.load() << " table versions, "
            << maps.grace_period_waits() << " grace periods\n";
  lab.configure();
}

}  // namespace
}  // namespace portway::test::lb
