/* Connection tracking for the translated flows: pw_flows (client -> frontend, which backend)
 * and pw_reverse (backend -> client, what to restore), pw_fragments (later fragments). */
#pragma once

#include "lib/clock.h"
#include "lib/maps.h"
#include "lib/stats.h"

static __always_inline void pw_flow_key_init(struct pw_flow_key *k, __be32 saddr, __be32 daddr,
					     __be16 sport, __be16 dport, __u8 proto)
{
	/* Field by field on a zeroed key: the hash compares all 16 bytes, reserved ones too. */
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
}

/* A flow may stay on its backend while the backend slot still holds the same sandbox and is
 * running or draining. */
static __always_inline int pw_flow_backend_alive(const struct pw_flow *f)
{
	struct pw_backend *be = bpf_map_lookup_elem(&pw_backends, &f->backend_id);

	return be && be->state != PW_BACKEND_UNUSED && be->addr == f->backend_addr;
}

/* A flow is used only while its frontend's id still carries the gen the flow was created under
 * (lb_abi.h, pw_frontend_gens): the controller bumps the gen whenever the id is given to a
 * frontend or taken from one, so a removed (or removed and re-added) frontend's flows are never
 * used, without the controller walking the flow table. pw_frontend_gens is an ARRAY: the
 * verifier inlines this lookup (no helper call). */
static __always_inline int pw_flow_frontend_current(const struct pw_flow *f)
{
	const __u32 *gen = bpf_map_lookup_elem(&pw_frontend_gens, &f->frontend_id);

	return gen && *gen == f->frontend_gen;
}

static __always_inline void pw_reverse_key_of(struct pw_flow_key *rk, const struct pw_flow *f,
					      const struct pw_flow_key *k)
{
	/* The reply leaves the backend from the target port towards the client's port, to the
	 * client address (or, hairpinned, to the node address the client was rewritten to). */
	pw_flow_key_init(rk, f->backend_addr, (f->flags & PW_FLOW_HAIRPIN) ? f->snat_addr : k->saddr,
			 f->target_port, k->sport, k->proto);
}

static __always_inline void pw_flow_forget(const struct pw_flow_key *k, const struct pw_flow *f)
{
	struct pw_flow_key rk;

	pw_reverse_key_of(&rk, f, k);
	bpf_map_delete_elem(&pw_reverse, &rk);
	pw_count_event_n(PW_EV_FLOW_DELETES, bpf_map_delete_elem(&pw_flows, k) == 0);
}

/* Records flow and reverse entry; returns 0, or -1 when a map refused the entry. `replaces`:
 * the key is in pw_flows already (a re-pick), so the insert does not add an entry. */
static __always_inline int pw_flow_create(const struct pw_flow_key *k, struct pw_flow *f,
					  int replaces)
{
	struct pw_reverse rev = {};
	struct pw_flow_key rk;
	int err;

	rev.frontend_addr = k->daddr;
	rev.frontend_port = k->dport;
	rev.flags = f->flags;
	rev.client_addr = k->saddr;
	pw_reverse_key_of(&rk, f, k);
	err = bpf_map_update_elem(&pw_flows, k, f, BPF_ANY);
	/* Counted so that user space can tell evictions from deletions (lb_abi.h, pw_events). */
	pw_count_event_n(PW_EV_FLOW_INSERTS, (err == 0) & !replaces);
	err |= bpf_map_update_elem(&pw_reverse, &rk, &rev, BPF_ANY);
	return err ? -1 : 0;
}

static __always_inline void pw_fragment_key_init(struct pw_fragment_key *k, __be32 saddr,
						 __be32 daddr, __be16 id, __u8 proto)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = saddr;
	k->daddr = daddr;
	k->ip_id = id;
	k->proto = proto;
}

/* The record of a later fragment's datagram, or NULL when there is none or it is stale. */
static __always_inline struct pw_fragment *pw_fragment_find(__be32 saddr, __be32 daddr, __be16 id,
							    __u8 proto)
{
	struct pw_fragment_key k;
	struct pw_fragment *rec;

	pw_fragment_key_init(&k, saddr, daddr, id, proto);
	rec = bpf_map_lookup_elem(&pw_fragments, &k);
	if (rec && pw_now_ns() - rec->created_ns > PW_FRAGMENT_TIMEOUT_NS)
		return NULL;
	return rec;
}

static __always_inline void pw_fragment_record(__be32 saddr, __be32 daddr, __be16 id, __u8 proto,
					       const struct pw_fragment *rec)
{
	struct pw_fragment_key k;

	pw_fragment_key_init(&k, saddr, daddr, id, proto);
	/* Best effort: a lost record costs the later fragments, which are then dropped and
	 * counted (PW_DROP_FRAGMENT_UNKNOWN). */
	bpf_map_update_elem(&pw_fragments, &k, rec, BPF_ANY);
}
