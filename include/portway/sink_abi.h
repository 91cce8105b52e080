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

/* Latency of frames that carry the generator's stamp (portway/pktgen_abi.h), when the sink is
 * loaded with sink_latency set. One entry (key 0) of a per-CPU array. Bucket b holds
 * latencies in [portway_sink_bucket_low(b), portway_sink_bucket_low(b + 1)): exact below 8 ns,
 * then 8 buckets per power of two (at most 12.5% wide); the last bucket takes everything above. */
#define PORTWAY_SINK_LATENCY_BUCKETS 320
#define PORTWAY_SINK_LATENCY_SUB_BITS 3

struct portway_sink_latency {
  __u64 stamped;      /* frames with a valid stamp */
  __u64 clock_skew;   /* stamps later than the sink's clock (counted, not bucketed) */
  __u64 sum_ns;
  __u64 buckets[PORTWAY_SINK_LATENCY_BUCKETS];
};
PORTWAY_ABI_SIZE(struct portway_sink_latency, 24 + 8 * PORTWAY_SINK_LATENCY_BUCKETS);

/* Key of the distinct-flow set (BPF_MAP_TYPE_HASH, value: frames), when loaded with
 * sink_flows set: the 5-tuple as it arrived, addresses in network order (IPv4 in the first 4
 * bytes). Frames that are not TCP or UDP over IPv4/IPv6 are not recorded. */
struct portway_sink_flow {
  __u8 saddr[16];
  __u8 daddr[16];
  __u16 sport;  /* network order */
  __u16 dport;
  __u8 proto;
  __u8 family;  /* 4 or 6 */
  __u16 pad;
};
PORTWAY_ABI_SIZE(struct portway_sink_flow, 40);

#define PORTWAY_SINK_FLOW_ENTRIES 65536

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

inline portway_sink_latency& operator+=(portway_sink_latency& a,
                                        const portway_sink_latency& b) noexcept {
  a.stamped += b.stamped;
  a.clock_skew += b.clock_skew;
  a.sum_ns += b.sum_ns;
  for (int i = 0; i < PORTWAY_SINK_LATENCY_BUCKETS; ++i) a.buckets[i] += b.buckets[i];
  return a;
}
#endif
