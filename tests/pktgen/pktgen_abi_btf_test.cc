// include/portway/pktgen_abi.h as C++ sees it against the generator object's BTF: the config
// (rodata), the per-CPU counters (a map value) and the XDP loop's state (.bss, which user space
// reads and writes through its mmap) must have one layout on both sides.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "portway/pktgen_abi.h"
#include "support/btf_layout.h"

#ifndef PORTWAY_PKTGEN_BPF_OBJECT
#error "PORTWAY_PKTGEN_BPF_OBJECT must name the linked pktgen.bpf.o"
#endif

namespace portway::test {
namespace {

#define F PORTWAY_LAYOUT_FIELD

TEST(PktgenAbiBtf, EveryStructMatchesTheCompiledObject) {
  const auto b = parse_object_btf(PORTWAY_PKTGEN_BPF_OBJECT);
  ASSERT_TRUE(b) << "cannot parse BTF of " << PORTWAY_PKTGEN_BPF_OBJECT;
  const StructLayout layouts[] = {
      {"portway_pktgen_config", sizeof(portway_pktgen_config),
       {F(portway_pktgen_config, dst_mac), F(portway_pktgen_config, src_mac), F(portway_pktgen_config, family),
        F(portway_pktgen_config, l4), F(portway_pktgen_config, new_flow_per_frame), F(portway_pktgen_config, stamp),
        F(portway_pktgen_config, frame_len), F(portway_pktgen_config, dst_port),
        F(portway_pktgen_config, src_port_min), F(portway_pktgen_config, src_port_count),
        F(portway_pktgen_config, pad), F(portway_pktgen_config, src_addr_count), F(portway_pktgen_config, flows),
        F(portway_pktgen_config, src_addr), F(portway_pktgen_config, dst_addr)}},
      {"portway_pktgen_counters", sizeof(portway_pktgen_counters),
       {F(portway_pktgen_counters, frames), F(portway_pktgen_counters, bad_length),
        F(portway_pktgen_counters, next_flow), F(portway_pktgen_counters, flow_stride),
        F(portway_pktgen_counters, pad)}},
      {"portway_pktgen_loop", sizeof(portway_pktgen_loop),
       {F(portway_pktgen_loop, flow), F(portway_pktgen_loop, limit), F(portway_pktgen_loop, deadline_ns),
        F(portway_pktgen_loop, interval_ns), F(portway_pktgen_loop, next_due_ns), F(portway_pktgen_loop, emitted),
        F(portway_pktgen_loop, turns), F(portway_pktgen_loop, idle_turns), F(portway_pktgen_loop, ended),
        F(portway_pktgen_loop, stop), F(portway_pktgen_loop, pad)}},
  };
  for (const auto& want : layouts) expect_layout_matches(b.get(), want);
}

// The check must be able to fail: a struct with a field the object lacks is noticed.
TEST(PktgenAbiBtf, ADifferentLayoutWouldBeNoticed) {
  const auto b = parse_object_btf(PORTWAY_PKTGEN_BPF_OBJECT);
  ASSERT_TRUE(b);
  StructLayout wrong{"portway_pktgen_loop", sizeof(portway_pktgen_loop), {F(portway_pktgen_loop, flow)}};
  EXPECT_NONFATAL_FAILURE(expect_layout_matches(b.get(), wrong), "portway_pktgen_loop");
}

#undef F

}  // namespace
}  // namespace portway::test
