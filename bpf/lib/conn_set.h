/* The set-associative connection tables pw_conn_sets and pw_conn_sets6 (lb_abi.h, layout 5):
 * a lockless lookup for every packet, a store and a delete under the set's lock. What the
 * families share (tags, ages, the choice of a way to write) works on the tag and age arrays,
 * which sit at the same place in both set structs; the rest is written once per family. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/clock.h"
#include "lib/maps.h"
#include "portway/conn_hash.h"

/* The maps' set count: written by the loader into the rodata before the load (the maps'
 * max_entries); the verifier folds it into a constant. */
const volatile __u32 pw_conn_sets_n = PW_CONN_SETS_FOR(PW_DEFAULT_FLOWS);

/* What pw_conn_store did. */
#define PW_CONN_STORED 1   /* into a free way */
#define PW_CONN_EVICTED 2  /* over the least recently used way, which held another connection */
#define PW_CONN_REPLACED 3 /* over the key's own way */
#define PW_CONN_FULL 4     /* nothing: no free way, and the caller allowed no eviction */
#define PW_CONN_PRESENT 5  /* nothing: the key has a way, and the caller wanted it absent */

/* How pw_conn_store may write. */
#define PW_CONN_ABSENT_ONLY 0x1 /* not over the key's own way */
#define PW_CONN_MAY_EVICT 0x2   /* over another connection's way when the set has no free one */

/* Orders the compiler's stores around it. The JIT keeps the order, and x86-64 keeps stores in
 * program order (TSO), so a lockless reader sees a way's tag cleared before the way changes
 * and set only after it is whole. */
#define pw_conn_barrier() asm volatile("" ::: "memory")

static __always_inline __u16 pw_conn_age_now(void)
{
	return (__u16)(pw_now_ns() >> PW_CONN_AGE_SHIFT);
}

/* The use of a way found: its age, written only when it moved (fewer dirtied lines shared
 * between CPUs on busy connections). Racy by design: two readers write the same value. */
static __always_inline void pw_conn_touch(__u16 *age, __u32 way, __u16 now)
{
	way &= PW_CONN_WAYS - 1;
	if (age[way] != now)
		age[way] = now;
}

/* The way a new connection takes: the first empty one, else (when `may_evict`) the least
 * recently used, else PW_CONN_WAYS. Ages compare as distances from now: a 16-bit clock
 * wraps, and a way unused for longer than it spans is old either way. Under the set's lock. */
static __always_inline __u32 pw_conn_victim(const __u32 *tag, const __u16 *age, __u16 now,
					    int may_evict)
{
	__u32 i, way = PW_CONN_WAYS, idle, longest = 0;

	for (i = 0; i < PW_CONN_WAYS; i++) {
		if (!tag[i])
			return i;
		idle = (__u16)(now - age[i]);
		if (may_evict && idle >= longest) {
			longest = idle;
			way = i;
		}
	}
	return way;
}

/* The policy of a store, for both families: the way it writes (the client's own way `found`,
 * else pw_conn_victim) and what that means (PW_CONN_*). Under the set's lock. */
static __always_inline __u32 pw_conn_target(__u32 found, const __u32 *tag, const __u16 *age,
					    __u16 now, __u32 how)
{
	return found < PW_CONN_WAYS ? found : pw_conn_victim(tag, age, now, how & PW_CONN_MAY_EVICT);
}

static __always_inline int pw_conn_outcome(__u32 found, __u32 way, const __u32 *tag, __u32 how)
{
	if (found < PW_CONN_WAYS)
		return (how & PW_CONN_ABSENT_ONLY) ? PW_CONN_PRESENT : PW_CONN_REPLACED;
	if (way >= PW_CONN_WAYS)
		return PW_CONN_FULL;
	return tag[way & (PW_CONN_WAYS - 1)] ? PW_CONN_EVICTED : PW_CONN_STORED;
}

/* ---- IPv4: pw_conn_sets ------------------------------------------------------------------ */

/* A way's key against a client's address, port and protocol, field by field: the callers
 * hold either a pw_conn_key or a flow's tuple, and building a key on the stack for the
 * comparison would cost the IPv6 paths stack they do not have. */
static __always_inline int pw_conn_key_is(const struct pw_conn_key *wk, __be32 addr, __be16 port,
					  __u8 proto)
{
	return wk->client_addr == addr && wk->client_port == port && wk->proto == proto;
}

/* The set of a client. The hash is returned by value, the tag derived from it where needed: a
 * local whose address is taken lives on the stack. */
static __always_inline struct pw_conn_set *pw_conn_set_at(__u32 h)
{
	__u32 idx = pw_conn_set_index(h, pw_conn_sets_n);

	return bpf_map_lookup_elem(&pw_conn_sets, &idx);
}

/* The way of set s holding the client's connection, or PW_CONN_WAYS. The tags first: one
 * cache line for the eight, and a way's key line only when its tag matches. */
static __always_inline __u32 pw_conn_way_of(const struct pw_conn_set *s, __u32 tag, __be32 addr,
					    __be16 port, __u8 proto)
{
	__u32 i;

	for (i = 0; i < PW_CONN_WAYS; i++)
		if (s->tag[i] == tag && pw_conn_key_is(&s->way[i].key, addr, port, proto))
			return i;
	return PW_CONN_WAYS;
}

/* The client's connection, or NULL; no lock (lb_abi.h, pw_conn_sets, says what a racing
 * writer may leave). A hit refreshes the way's age, as an LRU hash lookup marks its node
 * used. The client by its fields, as everywhere here: no key struct on the stack. */
static __always_inline struct pw_conn *pw_conn_lookup(__be32 addr, __be16 port, __u8 proto)
{
	__u32 h = pw_conn_hash4(addr, port, proto), way;
	struct pw_conn_set *s;

	s = pw_conn_set_at(h);
	if (!s)
		return NULL;
	way = pw_conn_way_of(s, pw_conn_tag(h), addr, port, proto);
	if (way >= PW_CONN_WAYS)
		return NULL;
	pw_conn_touch(s->age, way, pw_conn_age_now());
	return &s->way[way].conn;
}

/* Writes the connection of tuple fk (client -> frontend) with flow f: over the client's way
 * when there is one (PW_CONN_REPLACED, or PW_CONN_PRESENT without writing with
 * PW_CONN_ABSENT_ONLY), else into a free way, else over the least recently used with
 * PW_CONN_MAY_EVICT (PW_CONN_EVICTED), else PW_CONN_FULL. 0 when the set is out of reach
 * (never: the index is below the map's size). The way is written field by field from the
 * tuple, not from a pw_conn built on the stack first: the IPv6 new-flow path has no 80 bytes
 * to spare. */
static __always_inline int pw_conn_store(const struct pw_flow_key *fk, const struct pw_flow *f,
					 __u32 how)
{
	/* Before the lock: no helper call may be made while it is held. */
	__u16 now = pw_conn_age_now();
	__u32 h = pw_conn_hash4(fk->saddr, fk->sport, fk->proto), tag = pw_conn_tag(h), found, way;
	struct pw_conn_set *s;
	struct pw_conn_way *w;
	int ret;

	s = pw_conn_set_at(h);
	if (!s)
		return 0;
	bpf_spin_lock(&s->lock);
	found = pw_conn_way_of(s, tag, fk->saddr, fk->sport, fk->proto);
	way = pw_conn_target(found, s->tag, s->age, now, how);
	ret = pw_conn_outcome(found, way, s->tag, how);
	if (ret != PW_CONN_PRESENT && ret != PW_CONN_FULL) {
		way &= PW_CONN_WAYS - 1;
		w = &s->way[way];
		s->tag[way] = 0;
		pw_conn_barrier();
		w->key.client_addr = fk->saddr;
		w->key.client_port = fk->sport;
		w->key.proto = fk->proto;
		w->key.reserved = 0;
		w->conn.flow = *f;
		w->conn.frontend_addr = fk->daddr;
		w->conn.frontend_port = fk->dport;
		w->conn.reserved = 0;
		pw_conn_barrier();
		s->tag[way] = tag;
		s->age[way] = now;
	}
	bpf_spin_unlock(&s->lock);
	return ret;
}

/* Forgets the client's connection if its flow has `backend_id` (any with
 * PW_CONN_CTL_ANY_BACKEND). 1 when it did. */
static __always_inline int pw_conn_delete(__be32 addr, __be16 port, __u8 proto, __u32 backend_id)
{
	__u32 h = pw_conn_hash4(addr, port, proto), way;
	struct pw_conn_set *s;
	int deleted = 0;

	s = pw_conn_set_at(h);
	if (!s)
		return 0;
	bpf_spin_lock(&s->lock);
	way = pw_conn_way_of(s, pw_conn_tag(h), addr, port, proto);
	if (way < PW_CONN_WAYS && (backend_id == PW_CONN_CTL_ANY_BACKEND ||
				   s->way[way].conn.flow.backend_id == backend_id)) {
		s->tag[way] = 0;
		deleted = 1;
	}
	bpf_spin_unlock(&s->lock);
	return deleted;
}

/* ---- IPv6: pw_conn_sets6, the same rules ---------------------------------------------------- */

static __always_inline int pw_conn6_key_is(const struct pw_conn6_key *wk, const struct pw_in6 *addr,
					   __be16 port, __u8 proto)
{
	return wk->client_addr.w[0] == addr->w[0] && wk->client_addr.w[1] == addr->w[1] &&
	       wk->client_addr.w[2] == addr->w[2] && wk->client_addr.w[3] == addr->w[3] &&
	       wk->client_port == port && wk->proto == proto;
}

static __always_inline struct pw_conn6_set *pw_conn6_set_at(__u32 h)
{
	__u32 idx = pw_conn_set_index(h, pw_conn_sets_n);

	return bpf_map_lookup_elem(&pw_conn_sets6, &idx);
}

static __always_inline __u32 pw_conn6_way_of(const struct pw_conn6_set *s, __u32 tag,
					     const struct pw_in6 *addr, __be16 port, __u8 proto)
{
	__u32 i;

	for (i = 0; i < PW_CONN_WAYS; i++)
		if (s->tag[i] == tag && pw_conn6_key_is(&s->way[i].key, addr, port, proto))
			return i;
	return PW_CONN_WAYS;
}

static __always_inline struct pw_conn6 *pw_conn6_lookup(const struct pw_in6 *addr, __be16 port,
							 __u8 proto)
{
	__u32 h = pw_conn_hash6(addr->w, port, proto), way;
	struct pw_conn6_set *s;

	s = pw_conn6_set_at(h);
	if (!s)
		return NULL;
	way = pw_conn6_way_of(s, pw_conn_tag(h), addr, port, proto);
	if (way >= PW_CONN_WAYS)
		return NULL;
	pw_conn_touch(s->age, way, pw_conn_age_now());
	return &s->way[way].conn;
}

/* A subprogram, not inlined: inlined into the IPv6 new-flow path, its values kept across the
 * set's lock (spilled, since the lock is a helper call) took that path over the 512 bytes of
 * stack the verifier allows a chain of calls (tc: pw_tc6_sandbox, pw_decide6_new_flow). */
static __noinline int pw_conn6_store(const struct pw_flow6_key *fk, const struct pw_flow6 *f,
				     __u32 how)
{
	__u16 now = pw_conn_age_now();
	__u32 h = pw_conn_hash6(fk->saddr.w, fk->sport, fk->proto), tag = pw_conn_tag(h), found, way;
	struct pw_conn6_set *s;
	struct pw_conn6_way *w;
	int ret;

	s = pw_conn6_set_at(h);
	if (!s)
		return 0;
	bpf_spin_lock(&s->lock);
	found = pw_conn6_way_of(s, tag, &fk->saddr, fk->sport, fk->proto);
	way = pw_conn_target(found, s->tag, s->age, now, how);
	ret = pw_conn_outcome(found, way, s->tag, how);
	if (ret != PW_CONN_PRESENT && ret != PW_CONN_FULL) {
		way &= PW_CONN_WAYS - 1;
		w = &s->way[way];
		s->tag[way] = 0;
		pw_conn_barrier();
		w->key.client_addr = fk->saddr;
		w->key.client_port = fk->sport;
		w->key.proto = fk->proto;
		w->key.reserved = 0;
		w->conn.flow = *f;
		w->conn.frontend_addr = fk->daddr;
		w->conn.frontend_port = fk->dport;
		w->conn.reserved[0] = 0;
		w->conn.reserved[1] = 0;
		w->conn.reserved[2] = 0;
		pw_conn_barrier();
		s->tag[way] = tag;
		s->age[way] = now;
	}
	bpf_spin_unlock(&s->lock);
	return ret;
}

static __always_inline int pw_conn6_delete(const struct pw_in6 *addr, __be16 port, __u8 proto,
					   __u32 backend_id)
{
	__u32 h = pw_conn_hash6(addr->w, port, proto), way;
	struct pw_conn6_set *s;
	int deleted = 0;

	s = pw_conn6_set_at(h);
	if (!s)
		return 0;
	bpf_spin_lock(&s->lock);
	way = pw_conn6_way_of(s, pw_conn_tag(h), addr, port, proto);
	if (way < PW_CONN_WAYS && (backend_id == PW_CONN_CTL_ANY_BACKEND ||
				   s->way[way].conn.flow.backend_id == backend_id)) {
		s->tag[way] = 0;
		deleted = 1;
	}
	bpf_spin_unlock(&s->lock);
	return deleted;
}
