/* The node address a hairpinned sandbox is rewritten to. */
#pragma once

#include "lib/maps.h"

struct pw_hairpin_search {
	__be32 addr;
};

static long pw_find_hairpin_addr(void *map, const void *key, void *value, void *ctx)
{
	const struct pw_node_addr *na = value;
	struct pw_hairpin_search *s = ctx;

	(void)map;
	if (na->flags & PW_NODE_ADDR_HAIRPIN) {
		s->addr = *(const __be32 *)key;
		return 1; /* stop */
	}
	return 0;
}

/* The node address a hairpinned client is rewritten to. A walk over pw_node_addrs (a handful
 * of entries) rather than a config slot: hairpin is rare, and the flag then lives in one place.
 * bpf_for_each_map_elem needs kernel >= 5.13. Returns 0 when none is flagged. */
static __always_inline __be32 pw_hairpin_addr(void)
{
	struct pw_hairpin_search s = {};

	bpf_for_each_map_elem(&pw_node_addrs, pw_find_hairpin_addr, &s, 0);
	return s.addr;
}
