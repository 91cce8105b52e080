/* The prefix filter (pw_prefilter, lb_abi.h): is a destination possibly portway's? Asked before
 * any hash lookup, so that traffic to other destinations (the node's own traffic, anything
 * routed through it) costs one inlined array read and a few compares instead of three hash
 * lookups (docs/xdp-dataplane.md, "The prefix filter"). Without the family's PW_PREFILTER_ON*
 * flag every destination is "maybe": the lookups then decide exactly as without the filter.
 *
 * Verifier and cost notes shared by both families:
 *   - pw_prefilter is a one-entry BPF_MAP_TYPE_ARRAY: the verifier replaces the lookup helper
 *     call by a few inline instructions (array_map_gen_lookup), no hash, no call.
 *   - The loops run over a constant bound (PW_PREFILTER_V4/V6 = 8). The count read from the map
 *     only ends them early; it never indexes v4[]/v6[], so the verifier sees every access at a
 *     constant offset inside the value and needs no range proof for a map-supplied index. clang
 *     unrolls them (8 compares); if it did not, the bounded-loop verifier (kernel >= 5.3) walks
 *     at most 8 iterations. */
#pragma once

#include "lib/maps.h"

static __always_inline const struct pw_prefilter *pw_prefilter_entry(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pw_prefilter, &zero);
}

/* 1: daddr (network order) may be portway's, go on to the lookups; 0: it is not, leave it. */
static __always_inline int pw_prefilter_v4(__be32 daddr)
{
	const struct pw_prefilter *pf = pw_prefilter_entry();
	__u32 n, i;

	if (!pf || !(pf->flags & PW_PREFILTER_ON4))
		return 1;
	n = pf->count4;
#pragma unroll
	for (i = 0; i < PW_PREFILTER_V4; i++) {
		if (i >= n)
			break;
		if ((daddr & pf->v4[i].mask) == pf->v4[i].addr)
			return 1;
	}
	return 0;
}

/* The same for IPv6; daddr may point into the packet (the caller checked the bounds). */
static __always_inline int pw_prefilter_v6(const struct pw_in6 *daddr)
{
	const struct pw_prefilter *pf = pw_prefilter_entry();
	__u32 n, i;

	if (!pf || !(pf->flags & PW_PREFILTER_ON6))
		return 1;
	n = pf->count6;
#pragma unroll
	for (i = 0; i < PW_PREFILTER_V6; i++) {
		const struct pw_prefix6 *px = &pf->v6[i];

		if (i >= n)
			break;
		/* OR of the differences: one branch per prefix instead of four. */
		if (!(((daddr->w[0] & px->mask.w[0]) ^ px->addr.w[0]) |
		      ((daddr->w[1] & px->mask.w[1]) ^ px->addr.w[1]) |
		      ((daddr->w[2] & px->mask.w[2]) ^ px->addr.w[2]) |
		      ((daddr->w[3] & px->mask.w[3]) ^ px->addr.w[3])))
			return 1;
	}
	return 0;
}
