// SPDX-License-Identifier: GPL-2.0
/* Reads the two clocks the fast path converts between (bpf/lib/clock.h): jiffies and the coarse
 * monotonic clock, which the kernel advances in the same tick. The loader runs it with
 * BPF_PROG_TEST_RUN before it loads portway_lb and writes the conversion into that object's
 * rodata (loader/lb_clock.h). The answer is written over the first 16 bytes of the test frame. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pw_clock_probe(struct xdp_md *ctx)
{
	__u64 *out = (void *)(long)ctx->data;

	if ((void *)(out + 2) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	out[0] = bpf_jiffies64();
	out[1] = bpf_ktime_get_coarse_ns();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
