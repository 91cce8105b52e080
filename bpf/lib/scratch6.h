/* Per-CPU scratch room for the IPv6 paths' packet and action (struct pw_pkt6, pw_action6):
 * with 128-bit addresses they do not fit next to the flow structs on the 512-byte stack the
 * verifier allows along one call chain. Not part of the pinned layout: nothing outlives a
 * program run in it, so every load creates its own (the loader pins only the maps it names).
 * One slot per program kind: an XDP run (softirq) and a tc run on the same CPU never overlap
 * each other's slot, and neither program is re-entered on its CPU. */
#pragma once

#include "lib/decide6.h"

#define PW_SCRATCH6_XDP 0u
#define PW_SCRATCH6_TC 1u

struct pw_scratch6 {
	struct pw_pkt6 p;
	struct pw_action6 a;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct pw_scratch6);
} pw_scratch6 SEC(".maps");

/* This CPU's slot, reset for a new packet; NULL cannot happen for keys below max_entries,
 * but the verifier wants the check. */
static __always_inline struct pw_scratch6 *pw_scratch6_get(__u32 slot)
{
	struct pw_scratch6 *s = bpf_map_lookup_elem(&pw_scratch6, &slot);

	if (!s)
		return NULL;
	__builtin_memset(&s->p, 0, sizeof(s->p));
	__builtin_memset(&s->a, 0, sizeof(s->a));
	s->a.frontend_id = PW_NO_ID;
	s->a.backend_id = PW_NO_ID;
	return s;
}
