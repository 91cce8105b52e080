/* Backend choice for a new flow: the flow hash picks a slot of the frontend's Maglev table
 * (built by the controller, controller/lb/maglev.h), the slot names a backend. */
#pragma once

#include "lib/jhash.h"
#include "lib/maps.h"

/* Returns the backend id (and its entry in *out), or PW_NO_ID when the set has no running
 * backend: M == 0, or every probed slot names a backend that stopped running. `descs` is the
 * family's descriptor map (pw_set_descs or pw_set_descs6): both families' tables live in the
 * same slot array and name the same backend ids. */
static __always_inline __u32 pw_maglev_pick_in(void *descs, __u32 set_id, __u32 hash,
					       struct pw_backend **out)
{
	__u32 m, offset, slot;
	__u64 *desc_ptr, desc;

	desc_ptr = bpf_map_lookup_elem(descs, &set_id);
	if (!desc_ptr)
		return PW_NO_ID;
	/* Exactly one 8-byte load: user space switches the descriptor while programs run, and
	 * offset and M must come from the same switch. volatile keeps clang from splitting or
	 * repeating it. The slots it names stay untouched until every program run that may
	 * have read it has ended (lb_abi.h). */
	desc = *(volatile __u64 *)desc_ptr;
	m = pw_set_desc_m(desc);
	offset = pw_set_desc_offset(desc);
	if (m == 0)
		return PW_NO_ID;
	slot = pw_reciprocal_scale(hash, m);

	/* A table is rebuilt when a backend stops running, but a packet can come in between:
	 * probing the following slots keeps new flows off that backend meanwhile, and because
	 * slots of one backend are spread over the table, the next slot is almost always
	 * somebody else's. */
	for (__u32 i = 0; i < PW_MAGLEV_PROBES; i++) {
		__u32 idx = offset + slot;
		__u32 chunk = idx / PW_MAGLEV_CHUNK_SLOTS;
		struct pw_maglev_chunk *c = bpf_map_lookup_elem(&pw_maglev_slots, &chunk);
		struct pw_backend *be;
		__u32 id;

		/* A descriptor beyond the slot array is a loader bug; no guessing past it. */
		if (!c)
			return PW_NO_ID;
		id = c->ids[idx % PW_MAGLEV_CHUNK_SLOTS];
		be = bpf_map_lookup_elem(&pw_backends, &id);
		if (be && be->state == PW_BACKEND_RUNNING && be->set_id == set_id) {
			*out = be;
			return id;
		}
		slot = slot + 1 < m ? slot + 1 : 0;
	}
	return PW_NO_ID;
}

/* IPv4: the set's table in pw_set_descs. */
static __always_inline __u32 pw_maglev_pick(__u32 set_id, __u32 hash, struct pw_backend **out)
{
	return pw_maglev_pick_in(&pw_set_descs, set_id, hash, out);
}
