// SPDX-License-Identifier: GPL-2.0
/* Counting sink: the far end of the packet-level perf rig, and the smallest real program that
 * proves the build pipeline (clang -> bpftool gen object -> skeleton -> C++ loader). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "portway/pktgen_abi.h"
#include "portway/sink_abi.h"

/* Rodata, set through the skeleton between open and load. The map is frozen at load, so the
 * verifier knows the value and reading it costs nothing per packet; volatile stops clang from
 * folding in the default at compile time, which would ignore what the loader set. */
const volatile __u32 sink_verdict = XDP_DROP;
/* Off by default, so the plain counting sink (and what bench_xdp measures with it) parses
 * nothing: with the value known at load, the verifier removes the parsing below entirely. */
const volatile __u8 sink_latency = 0;
const volatile __u8 sink_flows = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTWAY_SINK_COUNTERS_ENTRIES);
	__type(key, __u32);
	__type(value, struct portway_sink_counters);
} sink_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct portway_sink_latency);
} sink_latency_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PORTWAY_SINK_FLOW_ENTRIES);
	__type(key, struct portway_sink_flow);
	__type(value, __u64);
} sink_flow_set SEC(".maps");

/* floor(log2(v)) for v > 0, by halving (no count-leading-zeros instruction in BPF). */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

/* The bucket of sink_abi.h for a latency in ns. */
static __always_inline __u32 latency_bucket(__u64 ns)
{
	const __u32 sub = 1u << PORTWAY_SINK_LATENCY_SUB_BITS;
	__u32 msb, b;

	if (ns < sub)
		return (__u32)ns;
	msb = log2_u64(ns);
	b = (msb - PORTWAY_SINK_LATENCY_SUB_BITS + 1) * sub +
	    (__u32)((ns >> (msb - PORTWAY_SINK_LATENCY_SUB_BITS)) & (sub - 1));
	return b < PORTWAY_SINK_LATENCY_BUCKETS ? b : PORTWAY_SINK_LATENCY_BUCKETS - 1;
}

/* The L4 header of an untagged IPv4 (any IHL) or IPv6 (no extension headers) TCP/UDP frame,
 * filling the flow key; NULL for anything else. */
static __always_inline void *parse_l4(void *data, void *data_end, struct portway_sink_flow *k)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return NULL;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return NULL;
		k->family = 4;
		k->proto = ip->protocol;
		__builtin_memcpy(k->saddr, &ip->saddr, 4);
		__builtin_memcpy(k->daddr, &ip->daddr, 4);
		return (void *)ip + ip->ihl * 4;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return NULL;
		k->family = 6;
		k->proto = ip6->nexthdr;
		__builtin_memcpy(k->saddr, &ip6->saddr, 16);
		__builtin_memcpy(k->daddr, &ip6->daddr, 16);
		return ip6 + 1;
	}
	return NULL;
}

/* Latency and flow bookkeeping of one frame (only when the loader asked for either). */
static __always_inline void inspect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct portway_sink_flow k = {};
	struct portway_pktgen_stamp *stamp;
	void *l4 = parse_l4(data, data_end, &k);
	void *payload;

	if (!l4)
		return;
	if (k.proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return;
		k.sport = uh->source;
		k.dport = uh->dest;
		payload = uh + 1;
	} else if (k.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || th->doff < 5)
			return;
		k.sport = th->source;
		k.dport = th->dest;
		payload = l4 + th->doff * 4;
	} else {
		return;
	}

	if (sink_flows) {
		__u64 one = 1, *n = bpf_map_lookup_elem(&sink_flow_set, &k);

		if (n)
			__sync_fetch_and_add(n, 1);
		else
			bpf_map_update_elem(&sink_flow_set, &k, &one, BPF_NOEXIST);
	}

	stamp = payload;
	if (sink_latency && (void *)(stamp + 1) <= data_end &&
	    stamp->magic == PORTWAY_PKTGEN_MAGIC) {
		__u32 key = 0;
		struct portway_sink_latency *h = bpf_map_lookup_elem(&sink_latency_hist, &key);
		__u64 now = bpf_ktime_get_ns();

		if (!h)
			return;
		if (stamp->sent_ns > now) {
			h->clock_skew++;
			return;
		}
		now -= stamp->sent_ns;
		h->stamped++;
		h->sum_ns += now;
		key = latency_bucket(now);
		/* already clamped; repeated here where the verifier sees the index used */
		if (key >= PORTWAY_SINK_LATENCY_BUCKETS)
			return;
		h->buckets[key]++;
	}
}

/* "xdp.frags": the sink must also take jumbo frames, which a device (or BPF_PROG_TEST_RUN,
 * above 3520 bytes) delivers as a linear head plus fragments. data_end - data would count only
 * the head, so the length comes from bpf_xdp_get_buff_len (kernel >= 5.18), head + frags. */
SEC("xdp.frags")
int xdp_sink(struct xdp_md *ctx)
{
	__u64 len = bpf_xdp_get_buff_len(ctx);
	__u32 key = 0;
	struct portway_sink_counters *c;

	c = bpf_map_lookup_elem(&sink_counters, &key);
	/* Cannot miss for key 0, but the verifier insists on the check. ABORTED rather than the
	 * configured verdict so that a sink that stopped counting shows up in the
	 * xdp:xdp_exception tracepoint instead of silently skewing a loss figure. */
	if (!c)
		return XDP_ABORTED;

	/* A per-CPU slot is only touched from its own CPU, where XDP handles one frame at a time,
	 * so plain adds are exact without atomics. */
	if (len < ETH_HLEN) {
		c->runt_packets++;
		c->runt_bytes += len;
	} else {
		c->packets++;
		c->bytes += len;
		if (sink_latency || sink_flows)
			inspect(ctx);
	}
	return (int)sink_verdict;
}

char LICENSE[] SEC("license") = "GPL";
