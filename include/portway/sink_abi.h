/* ABI of bpf/xdp_sink.bpf.c: the counting sink at the end of the packet-level perf rig. */
#pragma once

#include <linux/types.h>

#include "portway/abi_assert.h"

/* One entry (key 0) of a BPF_MAP_TYPE_PERCPU_ARRAY; user space sums it over all CPUs.
 * packets/bytes and runt_packets/runt_bytes are disjoint: a frame is either a runt (shorter
 * than an Ethernet header, 14 bytes) or counted as a packet, never both, so
 * packets + runt_packets is every frame the program saw. */
struct portway_sink_counters {
  __u64 packets;
  __u64 bytes;
  __u64 runt_packets;
  __u64 runt_bytes;
};
PORTWAY_ABI_SIZE(struct portway_sink_counters, 32);

#define PORTWAY_SINK_COUNTERS_ENTRIES 1

#ifdef __cplusplus
/* Per-CPU values are summed field by field (loader::PerCpuArray::sum). It lives next to the
 * struct so that a new field, which also has to change the size assertion above, is added to
 * the sum in the same edit. */
inline portway_sink_counters& operator+=(portway_sink_counters& a,
                                         const portway_sink_counters& b) noexcept {
  a.packets += b.packets;
  a.bytes += b.bytes;
  a.runt_packets += b.runt_packets;
  a.runt_bytes += b.runt_bytes;
  return a;
}
#endif
