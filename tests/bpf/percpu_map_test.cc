// loader::PerCpuArray against real kernel maps.
#include "loader/percpu_map.h"

#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "loader/error.h"
#include "loader/prog_test_run.h"
#include "loader/unique_fd.h"
#include "portway/sink_abi.h"
#include "support/cpu_pin.h"
#include "support/packet_builder.h"
#include "support/root.h"
#include "xdp_sink_skeleton.h"

namespace portway::test {
namespace {

using loader::PerCpuArray;
using Counters = portway_sink_counters;

class PerCpuArrayTest : public ::testing::Test {
 protected:
  void SetUp() override { PORTWAY_REQUIRE_ROOT(); }

  static loader::UniqueFd create_map(bpf_map_type type, std::uint32_t value_size,
                                     std::uint32_t entries) {
    loader::UniqueFd fd{
        bpf_map_create(type, "pw_test", sizeof(std::uint32_t), value_size, entries, nullptr)};
    if (!fd) {
      throw loader::Error("create test map", errno);
    }
    return fd;
  }
};

TEST_F(PerCpuArrayTest, SumsTheSinkCountersOverCpus) {
  const auto allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  // Two different slots where the machine has two CPUs; on a single-CPU machine both runs land
  // in one slot and only the summation itself is checked (no skip: this is a root tier).
  const int cpu_a = allowed.front();
  const int cpu_b = allowed.size() > 1 ? allowed[1] : allowed.front();
  auto skel = XdpSink::open_and_load();
  const int prog = bpf_program__fd(skel->progs.xdp_sink);
  const auto frame = PacketBuilder{}.udp();
  // A test run executes on the CPU of the calling thread: pinning picks the slot.
  {
    const ScopedCpuPin pin(cpu_a);
    (void)loader::test_run(prog, frame, {.repeat = 3});
  }
  {
    const ScopedCpuPin pin(cpu_b);
    (void)loader::test_run(prog, frame, {.repeat = 5});
  }

  const PerCpuArray<Counters> map(skel->maps.sink_counters);
  const auto per_cpu = map.read(0);
  ASSERT_EQ(per_cpu.size(), static_cast<std::size_t>(libbpf_num_possible_cpus()));
  const auto& slot_a = per_cpu.at(static_cast<std::size_t>(cpu_a));
  const auto& slot_b = per_cpu.at(static_cast<std::size_t>(cpu_b));
  if (cpu_a != cpu_b) {
    EXPECT_EQ(slot_a.packets, 3u);
    EXPECT_EQ(slot_b.packets, 5u);
    EXPECT_EQ(slot_b.bytes, 5 * frame.size());
  } else {
    EXPECT_EQ(slot_a.packets, 8u);
  }

  const auto total = map.sum(0);
  EXPECT_EQ(total.packets, 8u);
  EXPECT_EQ(total.bytes, 8 * frame.size());
  EXPECT_EQ(total.runt_packets, 0u);
}

TEST_F(PerCpuArrayTest, RejectsAValueTypeOfTheWrongSize) {
  // What a C++ side built against a stale header would look like: two fields short.
  struct StaleCounters {
    std::uint64_t packets;
    std::uint64_t bytes;
  };
  auto skel = XdpSink::open_and_load();
  try {
    const PerCpuArray<StaleCounters> map(skel->maps.sink_counters);
    FAIL() << "a 16-byte view of a 32-byte map value was accepted";
  } catch (const loader::Error& e) {
    EXPECT_EQ(e.error_code(), EINVAL);
    const std::string what = e.what();
    EXPECT_NE(what.find("sink_counters"), std::string::npos) << what;
    EXPECT_NE(what.find("value_size is 32"), std::string::npos) << what;
    EXPECT_NE(what.find("C++ type is 16"), std::string::npos) << what;
  }
  struct TooBig {
    Counters c;
    std::uint64_t extra;
  };
  EXPECT_THROW(PerCpuArray<TooBig>{skel->maps.sink_counters}, loader::Error);
  EXPECT_NO_THROW(PerCpuArray<Counters>{skel->maps.sink_counters});
}

TEST_F(PerCpuArrayTest, RejectsAMapThatIsNotPerCpu) {
  const auto fd = create_map(BPF_MAP_TYPE_ARRAY, sizeof(Counters), 1);
  try {
    const PerCpuArray<Counters> map(fd.get());
    FAIL() << "a plain array was accepted as per-CPU";
  } catch (const loader::Error& e) {
    EXPECT_EQ(e.error_code(), EINVAL);
    EXPECT_NE(std::string{e.what()}.find("not BPF_MAP_TYPE_PERCPU_ARRAY"), std::string::npos)
        << e.what();
  }
}

TEST_F(PerCpuArrayTest, ReadsValuesThatAreNotAMultipleOfEightBytes) {
  // The kernel pads each CPU's copy of a 12-byte value to 16 bytes; a reader that assumed
  // sizeof(T) spacing would return CPU 1's value shifted by 4 bytes.
  struct Twelve {
    std::uint32_t a;
    std::uint32_t b;
    std::uint32_t c;
  };
  static_assert(sizeof(Twelve) == 12);
  const auto fd = create_map(BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(Twelve), 2);
  const auto cpus = static_cast<std::size_t>(libbpf_num_possible_cpus());
  std::vector<std::uint8_t> raw(cpus * 16, 0);
  for (std::size_t cpu = 0; cpu < cpus; ++cpu) {
    const auto n = static_cast<std::uint32_t>(cpu);
    const Twelve v{100 + n, 200 + n, 300 + n};
    std::memcpy(raw.data() + cpu * 16, &v, sizeof(v));
  }
  const std::uint32_t key = 1;
  ASSERT_EQ(bpf_map_update_elem(fd.get(), &key, raw.data(), BPF_ANY), 0) << std::strerror(errno);

  const PerCpuArray<Twelve> map(fd.get());
  EXPECT_EQ(map.size(), 2u);
  const auto values = map.read(1);
  ASSERT_EQ(values.size(), cpus);
  for (std::size_t cpu = 0; cpu < cpus; ++cpu) {
    const auto n = static_cast<std::uint32_t>(cpu);
    EXPECT_EQ(values[cpu].a, 100 + n) << "cpu " << cpu;
    EXPECT_EQ(values[cpu].b, 200 + n) << "cpu " << cpu;
    EXPECT_EQ(values[cpu].c, 300 + n) << "cpu " << cpu;
  }
  EXPECT_EQ(map.read(0).at(0).a, 0u);
}

TEST_F(PerCpuArrayTest, RejectsAnIndexPastTheEnd) {
  auto skel = XdpSink::open_and_load();
  const PerCpuArray<Counters> map(skel->maps.sink_counters);
  ASSERT_EQ(map.size(), static_cast<std::uint32_t>(PORTWAY_SINK_COUNTERS_ENTRIES));
  try {
    (void)map.read(PORTWAY_SINK_COUNTERS_ENTRIES);
    FAIL() << "read past max_entries succeeded";
  } catch (const loader::Error& e) {
    EXPECT_EQ(e.error_code(), ENOENT) << e.what();
  }
}

TEST_F(PerCpuArrayTest, RejectsAMapOfASkeletonThatIsNotLoaded) {
  auto skel = XdpSink::open();
  EXPECT_THROW(PerCpuArray<Counters>{skel->maps.sink_counters}, loader::Error);
}

}  // namespace
}  // namespace portway::test
