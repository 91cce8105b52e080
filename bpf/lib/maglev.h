/* Backend choice for a new flow: the flow hash picks a slot of the frontend's Maglev table
 * (built by the controller, controller/lb/maglev.h), the slot names a backend. */
#pragma once

#include "lib/jhash.h"
#include "lib/maps.h"

/* Returns the backend id (and its entry in *out), or PW_NO_ID when the set has no running
 * backend: no table, M == 0, or every probed slot names a backend that stopped running. */
static __always_inline __u32 pw_maglev_pick(__u32 set_id, __u32 hash, struct pw_backend **out)
{
	__u32 zero = 0, m, slot;
	__u32 *m_ptr;
	void *table;

	table = bpf_map_lookup_elem(&pw_backend_sets, &set_id);
	if (!table)
		return PW_NO_ID;
	m_ptr = bpf_map_lookup_elem(table, &zero);
	if (!m_ptr)
		return PW_NO_ID;
	m = *m_ptr;
	if (m == 0)
		return PW_NO_ID;
	slot = pw_reciprocal_scale(hash, m);

	/* A table is rebuilt when a backend stops running, but a packet can come in between:
	 * probing the following slots keeps new flows off that backend meanwhile, and because
	 * slots of one backend are spread over the table, the next slot is almost always
	 * somebody else's. */
	for (__u32 i = 0; i < PW_MAGLEV_PROBES; i++) {
		__u32 idx = slot + PW_MAGLEV_HEADER_SLOTS;
		__u32 *id = bpf_map_lookup_elem(table, &idx);
		struct pw_backend *be;

		/* An inner map shorter than its own M is a loader bug; no guessing past it. */
		if (!id)
			return PW_NO_ID;
		be = bpf_map_lookup_elem(&pw_backends, id);
		if (be && be->state == PW_BACKEND_RUNNING && be->set_id == set_id) {
			*out = be;
			return *id;
		}
		slot = slot + 1 < m ? slot + 1 : 0;
	}
	return PW_NO_ID;
}
