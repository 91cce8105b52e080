/* Per-CPU counters. A per-CPU slot is only written from its own CPU, and an XDP or tc program
 * is not re-entered on the same CPU, so plain increments are exact without atomics. */
#pragma once

#include "lib/maps.h"

static __always_inline void pw_count_drop(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&pw_drops, &reason);

	if (v)
		*v += 1;
}

/* Adds n (0 or 1): callers pass a condition instead of branching on it, which keeps the
 * verifier from exploring each side separately for the rest of the program. */
static __always_inline void pw_count_event_n(__u32 event, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&pw_events, &event);

	if (v)
		*v += n;
}

static __always_inline void pw_count_event(__u32 event)
{
	pw_count_event_n(event, 1);
}

static __always_inline void pw_count_traffic(void *map, __u32 id, __u32 bytes, __u32 new_flow,
					     __u32 rejected)
{
	struct pw_traffic *t;

	if (id == PW_NO_ID)
		return;
	t = bpf_map_lookup_elem(map, &id);
	/* An id beyond the map (a controller bug) costs the count, not the packet. */
	if (!t)
		return;
	t->packets += rejected ? 0 : 1;
	t->bytes += rejected ? 0 : bytes;
	t->new_flows += new_flow;
	t->rejected += rejected;
}
