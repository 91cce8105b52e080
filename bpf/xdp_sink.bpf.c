// SPDX-License-Identifier: GPL-2.0
/* Counting sink: the far end of the packet-level perf rig, and the smallest real program that
 * proves the build pipeline (clang -> bpftool gen object -> skeleton -> C++ loader). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "portway/sink_abi.h"

/* Rodata, set through the skeleton between open and load. The map is frozen at load, so the
 * verifier knows the value and reading it costs nothing per packet; volatile stops clang from
 * folding in the default at compile time, which would ignore what the loader set. */
const volatile __u32 sink_verdict = XDP_DROP;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTWAY_SINK_COUNTERS_ENTRIES);
	__type(key, __u32);
	__type(value, struct portway_sink_counters);
} sink_counters SEC(".maps");

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
	}
	return (int)sink_verdict;
}

char LICENSE[] SEC("license") = "GPL";
