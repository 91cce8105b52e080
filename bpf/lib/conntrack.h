/* Connection tracking for the translated flows: pw_conns (one entry per connection, read by
 * both directions; the ways of pw_conn_sets, lib/conn_set.h), pw_flows (client -> frontend,
 * which backend) and pw_reverse (backend -> client, what to restore) for the flows pw_conns
 * cannot hold, pw_fragments (later fragments). */
#pragma once

#include "lib/clock.h"
#include "lib/conn_set.h"
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

/* Where pw_flow_find found a tuple's flow, and where a new flow of the tuple may go. */
#define PW_FLOW_AT_CONN 0x1  /* the flow is the client's pw_conns entry */
#define PW_FLOW_AT_FLOWS 0x2 /* the flow is in pw_flows (its reply in pw_reverse) */
#define PW_CONN_EMPTY 0x4    /* the client's address and port have no pw_conns entry */
#define PW_CONN_DEAD 0x8     /* their entry holds another flow, whose frontend or backend is gone */

/* A flow a new one may take the place of: its frontend moved on or its backend is gone. */
static __always_inline int pw_flow_dead(const struct pw_flow *f)
{
	return !pw_flow_frontend_current(f) || !pw_flow_backend_alive(f);
}

/* The flow of tuple k (client -> frontend), or NULL; *at says where it is and whether the
 * client's pw_conns entry is free for a new one (PW_FLOW_AT_*, PW_CONN_*). pw_conns first: it
 * holds nearly every flow, and its entry is the one the reply direction reads too. pw_flows
 * then, for what pw_conns could not hold (lb_abi.h, pw_conns); a miss there costs a second
 * lookup, on new flows only. */
static __always_inline struct pw_flow *pw_flow_find(const struct pw_flow_key *k, __u32 *at)
{
	struct pw_conn *c;
	struct pw_flow *f;

	c = pw_conn_lookup(k->saddr, k->sport, k->proto);
	if (c && c->frontend_addr == k->daddr && c->frontend_port == k->dport) {
		*at = PW_FLOW_AT_CONN;
		return &c->flow;
	}
	*at = !c ? PW_CONN_EMPTY : pw_flow_dead(&c->flow) ? PW_CONN_DEAD : 0;
	f = bpf_map_lookup_elem(&pw_flows, k);
	if (f)
		*at |= PW_FLOW_AT_FLOWS;
	return f;
}

static __always_inline void pw_conn_forget(__be32 client_addr, __be16 client_port, __u8 proto)
{
	pw_count_event_n(PW_EV_FLOW_DELETES,
			 pw_conn_delete(client_addr, client_port, proto, PW_CONN_CTL_ANY_BACKEND));
}

static __always_inline void pw_flow_forget(const struct pw_flow_key *k, const struct pw_flow *f,
					   __u32 at)
{
	struct pw_flow_key rk;

	if (at & PW_FLOW_AT_CONN) {
		pw_conn_forget(k->saddr, k->sport, k->proto);
		return;
	}
	pw_reverse_key_of(&rk, f, k);
	bpf_map_delete_elem(&pw_reverse, &rk);
	pw_count_event_n(PW_EV_FLOW_DELETES, bpf_map_delete_elem(&pw_flows, k) == 0);
}

/* Records flow f of tuple k; `at` is what pw_flow_find said (less PW_FLOW_AT_FLOWS when that
 * flow was forgotten since). One insert into pw_conns when the client's entry is free or is
 * this flow's (a re-pick overwrites it in place: no moment without a translation for the
 * reply); otherwise, or for a hairpin, a flow and a reverse entry as before layout 4. A re-pick
 * of a flow in pw_flows stays there. Returns 0, or -1 when a map refused the entry. */
static __always_inline int pw_flow_create(const struct pw_flow_key *k, struct pw_flow *f, __u32 at)
{
	int in_conns = !(f->flags & PW_FLOW_HAIRPIN) && !(at & PW_FLOW_AT_FLOWS) &&
		       (at & (PW_FLOW_AT_CONN | PW_CONN_EMPTY | PW_CONN_DEAD));
	struct pw_reverse rev = {};
	struct pw_flow_key rk;
	int err, stored;

	if (in_conns) {
		/* A client without an entry at the lookup may have got one from another CPU since:
		 * then the flow goes to pw_flows below, never over someone else's connection. A
		 * full set gives its least recently used way, as a full LRU its oldest node. */
		stored = pw_conn_store(k, f,
				       (at & PW_CONN_EMPTY) ? PW_CONN_ABSENT_ONLY | PW_CONN_MAY_EVICT
							    : PW_CONN_MAY_EVICT);
		if (stored == 0)
			return -1;
		if (stored != PW_CONN_PRESENT) {
			/* Counted so that user space can tell evictions from deletions (lb_abi.h,
			 * pw_events); a dead flow overwritten is one deleted and one inserted. */
			pw_count_event_n(PW_EV_FLOW_INSERTS, !(at & PW_FLOW_AT_CONN));
			pw_count_event_n(PW_EV_FLOW_DELETES, !!(at & PW_CONN_DEAD));
			return 0;
		}
	}
	if (!(f->flags & PW_FLOW_HAIRPIN) && !(at & PW_FLOW_AT_FLOWS))
		pw_count_event(PW_EV_FLOW_CONN_TAKEN);
	rev.frontend_addr = k->daddr;
	rev.frontend_port = k->dport;
	rev.flags = f->flags;
	rev.client_addr = k->saddr;
	pw_reverse_key_of(&rk, f, k);
	err = bpf_map_update_elem(&pw_flows, k, f, BPF_ANY);
	pw_count_event_n(PW_EV_FLOW_INSERTS, (err == 0) & !(at & PW_FLOW_AT_FLOWS));
	err |= bpf_map_update_elem(&pw_reverse, &rk, &rev, BPF_ANY);
	/* A re-pick that became a hairpin leaves pw_conns: its reply needs the reverse entry, and
	 * the forward direction would find the conn first. */
	if (at & PW_FLOW_AT_CONN)
		pw_count_event_n(PW_EV_FLOW_DELETES,
				 pw_conn_delete(k->saddr, k->sport, k->proto, PW_CONN_CTL_ANY_BACKEND));
	return err ? -1 : 0;
}

/* The translation of a reply leaving backend baddr:bport for caddr:cport: the client's
 * pw_conns entry when it is this backend's flow, else pw_reverse. 1 when there is one (*out
 * filled), 0 when the packet is no reply of a translated flow. */
static __always_inline int pw_reverse_find(struct pw_reverse *out, __be32 baddr, __be32 caddr,
					   __be16 bport, __be16 cport, __u8 proto)
{
	struct pw_flow_key rk;
	struct pw_reverse *r;
	struct pw_conn *c;

	c = pw_conn_lookup(caddr, cport, proto);
	if (c && c->flow.backend_addr == baddr && c->flow.target_port == bport) {
		out->frontend_addr = c->frontend_addr;
		out->frontend_port = c->frontend_port;
		out->flags = 0;
		out->client_addr = caddr;
		out->reserved = 0;
		return 1;
	}
	pw_flow_key_init(&rk, baddr, caddr, bport, cport, proto);
	r = bpf_map_lookup_elem(&pw_reverse, &rk);
	if (!r)
		return 0;
	*out = *r;
	return 1;
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
