// SPDX-License-Identifier: GPL-2.0
/* Test-only probe of lib/prefilter.h, whichever family's packet path uses it: the frame carries
 * a family byte (4 or 6) and an address, the program answers XDP_PASS when the filter admits
 * the address and XDP_DROP when it does not (tests/bpf/prefilter_test.cc). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/prefilter.h"

struct pw_probe_frame {
	__u8 family;
	__u8 pad[3];
	__be32 v4;
	struct pw_in6 v6;
};

SEC("xdp")
int pw_prefilter_probe(struct xdp_md *ctx)
{
	const struct pw_probe_frame *f = (void *)(long)ctx->data;

	if ((void *)(f + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	if (f->family == 4)
		return pw_prefilter_v4(f->v4) ? XDP_PASS : XDP_DROP;
	return pw_prefilter_v6(&f->v6) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
