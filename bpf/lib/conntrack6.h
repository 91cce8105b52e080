/* Connection tracking for translated IPv6 flows: pw_flows6 (client -> frontend: which
 * backend), pw_reverse6 (backend -> client: what to restore), pw_fragments6 (later fragments).
 * The same rules as conntrack.h for IPv4, over 128-bit addresses. */
#pragma once

#include "lib/clock.h"
#include "lib/jhash.h"
#include "lib/maps.h"
#include "lib/parse6.h"
#include "lib/stats.h"

/* The flow hash over an IPv6 tuple: each address folded to one word (XOR of its four), then
 * the IPv4 hash of lb_abi.h over (folded saddr, folded daddr, ports, proto). A C++ tool that
 * predicts picks folds the same way (the wire bytes read as native u32s). */
static __always_inline __u32 pw_in6_fold(const struct pw_in6 *a)
{
	return a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3];
}

static __always_inline __u32 pw_flow_hash6(const struct pw_in6 *saddr, const struct pw_in6 *daddr,
					   __be16 sport, __be16 dport, __u8 proto)
{
	return pw_flow_hash(pw_in6_fold(saddr), pw_in6_fold(daddr), sport, dport, proto,
			    PW_FLOW_HASH_SEED);
}

static __always_inline void pw_flow6_key_init(struct pw_flow6_key *k, const struct pw_in6 *saddr,
					      const struct pw_in6 *daddr, __be16 sport,
					      __be16 dport, __u8 proto)
{
	/* On a zeroed key: the hash compares all 40 bytes, reserved ones too. */
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = *saddr;
	k->daddr = *daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
}

/* The backend's IPv6 address, or NULL when the id has none (all zero: an IPv4-only backend). */
static __always_inline struct pw_in6 *pw_backend_addr6(__u32 backend_id)
{
	struct pw_in6 *a = bpf_map_lookup_elem(&pw_backend_addrs6, &backend_id);

	return a && !pw_in6_is_zero(a) ? a : NULL;
}

/* A flow stays on its backend while the slot still holds the same sandbox (same IPv6 address)
 * and the backend is running or draining. */
static __always_inline int pw_flow6_backend_alive(const struct pw_flow6 *f)
{
	struct pw_backend *be = bpf_map_lookup_elem(&pw_backends, &f->backend_id);
	struct pw_in6 *addr;

	if (!be || be->state == PW_BACKEND_UNUSED)
		return 0;
	addr = pw_backend_addr6(f->backend_id);
	return addr && pw_in6_eq(addr, &f->backend_addr);
}

/* A flow is used only while its frontend is the one that created it (lb_abi.h,
 * pw_frontend_gens): a frontend removed (or its id given to another) leaves flows behind that
 * must not be followed. */
static __always_inline int pw_flow6_frontend_current(const struct pw_flow6 *f)
{
	__u32 *gen = bpf_map_lookup_elem(&pw_frontend_gens, &f->frontend_id);

	return gen && *gen == f->frontend_gen;
}

static __always_inline void pw_reverse6_key_of(struct pw_flow6_key *rk, const struct pw_flow6 *f,
					       const struct pw_flow6_key *k)
{
	/* The reply leaves the backend from the target port towards the client's port, to the
	 * client (or, hairpinned, to the node address the client was rewritten to). */
	pw_flow6_key_init(rk, &f->backend_addr,
			  (f->flags & PW_FLOW_HAIRPIN) ? &f->snat_addr : &k->saddr, f->target_port,
			  k->sport, k->proto);
}

static __always_inline void pw_flow6_forget(const struct pw_flow6_key *k, const struct pw_flow6 *f)
{
	struct pw_flow6_key rk;

	pw_reverse6_key_of(&rk, f, k);
	bpf_map_delete_elem(&pw_reverse6, &rk);
	pw_count_event_n(PW_EV_FLOW6_DELETES, bpf_map_delete_elem(&pw_flows6, k) == 0);
}

/* Records flow and reverse entry; 0, or -1 when a map refused one. `replaces`: the key is in
 * pw_flows6 already (a re-pick), so the insert adds no entry. */
static __always_inline int pw_flow6_create(const struct pw_flow6_key *k, struct pw_flow6 *f,
					   int replaces)
{
	struct pw_reverse6 rev = {};
	struct pw_flow6_key rk;
	int err;

	rev.frontend_addr = k->daddr;
	rev.frontend_port = k->dport;
	rev.flags = f->flags;
	rev.client_addr = k->saddr;
	pw_reverse6_key_of(&rk, f, k);
	err = bpf_map_update_elem(&pw_flows6, k, f, BPF_ANY);
	pw_count_event_n(PW_EV_FLOW6_INSERTS, (err == 0) & !replaces);
	err |= bpf_map_update_elem(&pw_reverse6, &rk, &rev, BPF_ANY);
	return err ? -1 : 0;
}

static __always_inline void pw_fragment6_key_init(struct pw_fragment6_key *k,
						  const struct pw_pkt6 *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->frag_id;
	k->proto = p->proto;
}

/* The record of a later fragment's datagram, or NULL when there is none or it is stale. */
static __always_inline struct pw_fragment6 *pw_fragment6_find(const struct pw_pkt6 *p)
{
	struct pw_fragment6_key k;
	struct pw_fragment6 *rec;

	pw_fragment6_key_init(&k, p);
	rec = bpf_map_lookup_elem(&pw_fragments6, &k);
	if (rec && pw_now_ns() - rec->created_ns > PW_FRAGMENT_TIMEOUT_NS)
		return NULL;
	return rec;
}

static __always_inline void pw_fragment6_record(const struct pw_pkt6 *p,
						const struct pw_fragment6 *rec)
{
	struct pw_fragment6_key k;

	pw_fragment6_key_init(&k, p);
	/* Best effort, as for IPv4: a lost record costs the later fragments (fragment_unknown). */
	bpf_map_update_elem(&pw_fragments6, &k, rec, BPF_ANY);
}
