/* ABI of bpf/pktgen.bpf.c, the frame generator behind `portway pktgen send`, and the timestamp
 * it writes that bpf/xdp_sink.bpf.c reads back (docs/performance.md "Packet rig"). Not a pinned
 * map: the generator is loaded per run and gone with the process. */
#pragma once

#include <linux/types.h>

#include "portway/abi_assert.h"

enum portway_pktgen_l4 {
  PORTWAY_PKTGEN_UDP = 0,
  PORTWAY_PKTGEN_TCP_SYN = 1, /* a new connection on every frame of a flow */
  PORTWAY_PKTGEN_TCP_ACK = 2, /* an established connection's data-less segment */
};

/* The generator's whole configuration, rodata (frozen at load: the verifier knows every value,
 * so the per-family and per-protocol branches cost nothing per frame). Addresses are in
 * network byte order (IPv4 in the first 4 bytes), ports and counts in host byte order. */
struct portway_pktgen_config {
  __u8 dst_mac[6];
  __u8 src_mac[6];
  __u8 family;             /* 4 or 6 */
  __u8 l4;                 /* enum portway_pktgen_l4 */
  __u8 new_flow_per_frame; /* 1: every frame a 5-tuple not used before (until the space wraps) */
  __u8 stamp;              /* 1: write struct portway_pktgen_stamp at the start of the payload */
  __u16 frame_len;         /* Ethernet frame without FCS, what BPF_PROG_RUN is given */
  __u16 dst_port;
  __u16 src_port_min;
  __u16 src_port_count;    /* >= 1 */
  __u32 pad;
  __u32 src_addr_count;    /* >= 1; the last 32 bits of the source address count up */
  __u32 flows;             /* flow index space: <= src_addr_count * src_port_count */
  __u8 src_addr[16];
  __u8 dst_addr[16];
};
PORTWAY_ABI_SIZE(struct portway_pktgen_config, 68);

/* Per CPU (BPF_MAP_TYPE_PERCPU_ARRAY, key 0): frames generated (also the sequence that picks
 * each frame's flow out of `flows`), frames refused because the buffer was not frame_len long,
 * and with new_flow_per_frame the next new flow this CPU makes and its step. User space sets
 * next_flow and flow_stride before each send (thread i of n starts at base + i, step n, where
 * base is past every flow any CPU made before), so no two threads and no two sends make the
 * same 5-tuple until the space wraps. */
struct portway_pktgen_counters {
  __u64 frames;
  __u64 bad_length;
  __u64 next_flow;
  __u32 flow_stride;
  __u32 pad;
};
PORTWAY_ABI_SIZE(struct portway_pktgen_counters, 32);

#define PORTWAY_PKTGEN_COUNTERS_ENTRIES 1

/* Which flow the next frame carries, stepping the counters past it: a cycle over `flows`, or
 * with new_flow_per_frame the sequence user space interleaves by thread (next_flow, step
 * flow_stride). One definition for both engines of `portway pktgen send`: the program
 * (bpf/pktgen.bpf.c) and the packet-socket engine (controller/pktgen/frame_writer.h). */
static inline __attribute__((always_inline)) __u64
portway_pktgen_next_flow(struct portway_pktgen_counters *c, __u32 flows, __u8 new_flow_per_frame)
{
  __u64 seq = c->frames++;
  __u64 f;

  if (!new_flow_per_frame)
    return seq % flows;
  f = c->next_flow % flows;
  c->next_flow += c->flow_stride ? c->flow_stride : 1;
  return f;
}

/* Flow f's source port and the offset of its source address: ports vary fastest. */
static inline __attribute__((always_inline)) __u16 portway_pktgen_flow_port(__u64 f, __u16 port_min,
                                                                            __u16 port_count)
{
  return (port_min + f % port_count) & 0xffff; /* a mask, not a cast: C and C++ alike */
}

static inline __attribute__((always_inline)) __u32 portway_pktgen_flow_addr_offset(__u64 f, __u16 port_count,
                                                                                   __u32 addr_count)
{
  return (f / port_count) % addr_count & 0xffffffffu;
}

#ifdef __cplusplus
/* Per-CPU values are summed field by field (loader::PerCpuArray::sum). */
inline portway_pktgen_counters& operator+=(portway_pktgen_counters& a,
                                           const portway_pktgen_counters& b) noexcept {
  a.frames += b.frames;
  a.bad_length += b.bad_length;
  a.next_flow = a.next_flow > b.next_flow ? a.next_flow : b.next_flow; /* the furthest CPU */
  a.flow_stride = 0; /* a per-CPU setting: a sum means nothing */
  return a;
}
#endif

/* The XDP-loop engine's state (bpf/pktgen.bpf.c, pktgen_loop_turn), the .bss of one loaded
 * instance, read and written by user space through its mmap. User space sets flow (its CPU's
 * slot of pktgen_counters), limit, deadline_ns, interval_ns and next_due_ns before it sends
 * the seeds, sets stop to end early, and reads emitted, ended and flow (written back to the
 * CPU's slot) after. */
struct portway_pktgen_loop {
  struct portway_pktgen_counters flow;
  __u64 limit;        /* frames to send in all */
  __u64 deadline_ns;  /* bpf_ktime_get_ns() at which every turn ends */
  __u64 interval_ns;  /* 0: as fast as the loop turns; else ns between frames sent */
  __u64 next_due_ns;  /* with interval_ns: when the next frame is due */
  __u64 emitted;      /* frames broadcast (one copy towards the receiver each) */
  __u64 turns;        /* frames the program saw, seeds included */
  __u64 idle_turns;   /* turns that waited for the rate */
  __u64 ended;        /* turns that dropped their frame: each ends one seed's strand */
  __u32 stop;         /* set by user space: the next turn of every strand ends it */
  __u32 pad;
};
PORTWAY_ABI_SIZE(struct portway_pktgen_loop, 104);

/* pktgen_loop_ports: index 0 the device towards the receiver, index 1 the loop's own pair. */
#define PORTWAY_PKTGEN_LOOP_OUT 0
#define PORTWAY_PKTGEN_LOOP_BACK 1
#define PORTWAY_PKTGEN_LOOP_PORTS 2
/* A rate-limited loop more than this late restarts its schedule instead of bursting. */
#define PORTWAY_PKTGEN_LOOP_MAX_LAG_NS 1000000ull

/* At the start of the L4 payload when config.stamp is set and the payload has room. sent_ns is
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC, one clock for every namespace of the machine), so a sink
 * on the same machine subtracts it from its own reading. Host byte order: generator and sink
 * run on the same machine. */
struct portway_pktgen_stamp {
  __u32 magic;
  __u32 cpu;
  __u64 sent_ns;
};
PORTWAY_ABI_SIZE(struct portway_pktgen_stamp, 16);

#define PORTWAY_PKTGEN_MAGIC 0x50575453u /* "PWTS" */
