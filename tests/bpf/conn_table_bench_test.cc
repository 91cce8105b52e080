// The connection tables bench_conn_table times (bpf/conn_table_bench.bpf.c): its figures mean
// something only if the programs do what they are timed as doing. A new connection is
// written, an established one is found, a client written twice is not new, and the random
// fill leaves the set table full, as the timed inserts assume.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "conn_table_bench.h"
#include "conn_table_bench.skel.h"
#include "loader/prog_test_run.h"
#include "loader/skeleton.h"
#include "portway/lb_abi.h"
#include "support/root.h"

namespace portway::test {
namespace {

PORTWAY_SKELETON_TRAITS(ConnTableBenchTraits, conn_table_bench);
using ConnTableBench = loader::Skeleton<ConnTableBenchTraits>;

static_assert(sizeof(conn_set_tags) == 64, "one cache line of tags per set");
static_assert(sizeof(conn_set_slot) == 64, "one cache line per way");

const std::vector<std::uint8_t> kAnyFrame(64, 0);

std::uint32_t run(bpf_program* prog, std::uint32_t repeat) {
  return loader::test_run(bpf_program__fd(prog), kAnyFrame, {.repeat = repeat}).retval;
}

struct Shape {
  const char* name;
  bpf_program* fill;
  bpf_program* hit;
};

TEST(ConnTableBench, BothTablesFindEveryLiveClientAndNoneIsNewTwice) {
  PORTWAY_REQUIRE_ROOT();
  auto skel = ConnTableBench::open_and_load();
  constexpr std::uint32_t kLive = 2'000;
  skel->data->live_clients = kLive;
  for (const Shape& s : {Shape{"lru", skel->progs.conn_lru_fill, skel->progs.conn_lru_hit},
                         Shape{"per-CPU lru", skel->progs.conn_lru_pcpu_fill, skel->progs.conn_lru_pcpu_hit},
                         Shape{"set", skel->progs.conn_set_fill, skel->progs.conn_set_hit}}) {
    SCOPED_TRACE(s.name);
    skel->bss->fill_next = 0;
    EXPECT_EQ(run(s.fill, 1), static_cast<std::uint32_t>(XDP_PASS)) << "client 0 is new";
    EXPECT_EQ(run(s.fill, kLive - 1), static_cast<std::uint32_t>(XDP_PASS)) << "client 1999 is new";
    skel->bss->fill_next = 0;
    EXPECT_EQ(run(s.fill, 1), static_cast<std::uint32_t>(XDP_DROP)) << "client 0 again is not new";

    skel->bss->hits = 0;
    skel->bss->misses = 0;
    EXPECT_EQ(run(s.hit, 10'000), static_cast<std::uint32_t>(XDP_DROP)) << "the last lookup found its client";
    EXPECT_EQ(skel->bss->hits, 10'000u);
    EXPECT_EQ(skel->bss->misses, 0u);
  }
}

TEST(ConnTableBench, RandomNewConnectionsFillEveryWayOfEverySet) {
  PORTWAY_REQUIRE_ROOT();
  auto skel = ConnTableBench::open_and_load();
  EXPECT_EQ(run(skel->progs.conn_set_new, 1), static_cast<std::uint32_t>(XDP_PASS)) << "an empty table";
  (void)run(skel->progs.conn_set_new, 4 * PW_DEFAULT_FLOWS);

  const int tags = bpf_map__fd(skel->maps.bench_set_tags);
  std::uint32_t sets = 0, empty_ways = 0;
  for (std::uint32_t set = 0; set < bpf_map__max_entries(skel->maps.bench_set_tags); ++set) {
    conn_set_tags t{};
    ASSERT_EQ(bpf_map_lookup_elem(tags, &set, &t), 0) << set;
    for (std::uint32_t tag : t.tag) empty_ways += tag == 0;
    ++sets;
  }
  EXPECT_EQ(sets * CONN_WAYS, PW_DEFAULT_FLOWS);
  // 1,048,576 random clients into 262,144 ways: a way left empty would mean a set the hash
  // never reaches (e ^ -32 of a chance per set), i.e. a broken index.
  EXPECT_EQ(empty_ways, 0u);
}

}  // namespace
}  // namespace portway::test
