/* Connection tracking for translated IPv6 flows: pw_conns6 (one entry per connection),
 * pw_flows6 (client -> frontend: which backend) and pw_reverse6 (backend -> client: what to
 * restore) for what pw_conns6 cannot hold, pw_fragments6 (later fragments). The same rules as
 * conntrack.h for IPv4, over 128-bit addresses. */
#pragma once

#include "lib/clock.h"
#include "lib/conntrack.h"
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

static __always_inline int pw_flow6_dead(const struct pw_flow6 *f)
{
	return !pw_flow6_frontend_current(f) || !pw_flow6_backend_alive(f);
}

/* pw_flow_find (conntrack.h) for IPv6: pw_conns6 first, then pw_flows6; the same PW_FLOW_AT_*
 * and PW_CONN_* in *at. */
static __always_inline struct pw_flow6 *pw_flow6_find(const struct pw_flow6_key *k, __u32 *at)
{
	struct pw_conn6 *c;
	struct pw_flow6 *f;

	c = pw_conn6_lookup(&k->saddr, k->sport, k->proto);
	if (c && pw_in6_eq(&c->frontend_addr, &k->daddr) && c->frontend_port == k->dport) {
		*at = PW_FLOW_AT_CONN;
		return &c->flow;
	}
	*at = !c ? PW_CONN_EMPTY : pw_flow6_dead(&c->flow) ? PW_CONN_DEAD : 0;
	f = bpf_map_lookup_elem(&pw_flows6, k);
	if (f)
		*at |= PW_FLOW_AT_FLOWS;
	return f;
}

static __always_inline void pw_conn6_forget(const struct pw_in6 *client_addr, __be16 client_port,
					    __u8 proto)
{

	pw_count_event_n(PW_EV_FLOW6_DELETES,
			 pw_conn6_delete(client_addr, client_port, proto, PW_CONN_CTL_ANY_BACKEND));
}

static __always_inline void pw_flow6_forget(const struct pw_flow6_key *k, const struct pw_flow6 *f,
					    __u32 at)
{
	struct pw_flow6_key rk;

	if (at & PW_FLOW_AT_CONN) {
		pw_conn6_forget(&k->saddr, k->sport, k->proto);
		return;
	}
	pw_reverse6_key_of(&rk, f, k);
	bpf_map_delete_elem(&pw_reverse6, &rk);
	pw_count_event_n(PW_EV_FLOW6_DELETES, bpf_map_delete_elem(&pw_flows6, k) == 0);
}

/* pw_flow_create (conntrack.h) for IPv6. A subprogram's locals: called from
 * pw_decide6_new_flow only, whose frame has room for the entry. */
static __always_inline int pw_flow6_create(const struct pw_flow6_key *k, struct pw_flow6 *f,
					   __u32 at)
{
	int in_conns = !(f->flags & PW_FLOW_HAIRPIN) && !(at & PW_FLOW_AT_FLOWS) &&
		       (at & (PW_FLOW_AT_CONN | PW_CONN_EMPTY | PW_CONN_DEAD));
	int err, stored;

	if (in_conns) {
		stored = pw_conn6_store(k, f,
					(at & PW_CONN_EMPTY) ? PW_CONN_ABSENT_ONLY | PW_CONN_MAY_EVICT
							     : PW_CONN_MAY_EVICT);
		if (stored == 0)
			return -1;
		if (stored != PW_CONN_PRESENT) {
			pw_count_event_n(PW_EV_FLOW6_INSERTS, !(at & PW_FLOW_AT_CONN));
			pw_count_event_n(PW_EV_FLOW6_DELETES, !!(at & PW_CONN_DEAD));
			return 0;
		}
	}
	if (!(f->flags & PW_FLOW_HAIRPIN) && !(at & PW_FLOW_AT_FLOWS))
		pw_count_event(PW_EV_FLOW6_CONN_TAKEN);
	{
		struct pw_reverse6 rev = {};
		struct pw_flow6_key rk;

		rev.frontend_addr = k->daddr;
		rev.frontend_port = k->dport;
		rev.flags = f->flags;
		rev.client_addr = k->saddr;
		pw_reverse6_key_of(&rk, f, k);
		err = bpf_map_update_elem(&pw_flows6, k, f, BPF_ANY);
		pw_count_event_n(PW_EV_FLOW6_INSERTS, (err == 0) & !(at & PW_FLOW_AT_FLOWS));
		err |= bpf_map_update_elem(&pw_reverse6, &rk, &rev, BPF_ANY);
	}
	if (at & PW_FLOW_AT_CONN)
		pw_count_event_n(PW_EV_FLOW6_DELETES,
				 pw_conn6_delete(&k->saddr, k->sport, k->proto, PW_CONN_CTL_ANY_BACKEND));
	return err ? -1 : 0;
}

/* pw_reverse_find (conntrack.h) for IPv6. */
static __always_inline int pw_reverse6_find(struct pw_reverse6 *out, const struct pw_in6 *baddr,
					    const struct pw_in6 *caddr, __be16 bport, __be16 cport,
					    __u8 proto)
{
	struct pw_flow6_key rk;
	struct pw_reverse6 *r;
	struct pw_conn6 *c;

	c = pw_conn6_lookup(caddr, cport, proto);
	if (c && pw_in6_eq(&c->flow.backend_addr, baddr) && c->flow.target_port == bport) {
		out->frontend_addr = c->frontend_addr;
		out->client_addr = *caddr;
		out->frontend_port = c->frontend_port;
		out->flags = 0;
		out->reserved = 0;
		return 1;
	}
	pw_flow6_key_init(&rk, baddr, caddr, bport, cport, proto);
	r = bpf_map_lookup_elem(&pw_reverse6, &rk);
	if (!r)
		return 0;
	*out = *r;
	return 1;
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
