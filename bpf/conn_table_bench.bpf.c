// SPDX-License-Identifier: GPL-2.0
/* What one new connection costs two shapes of connection table, at the size and entry shape
 * of pw_conns (key struct pw_conn_key, value struct pw_conn, PW_DEFAULT_FLOWS entries), for
 * bench/bench_conn_table.cc. Not part of the dataplane: it measures the design question of
 * docs/performance.md ("What an all-new flow would cost in a table that evicts in place").
 *
 * Every run makes a new random client (address and port), as the rig's all-new traffic does,
 * so with `repeat` > 1 every repeat is a new connection into a full table:
 *
 *   conn_lru_new  the kernel's LRU hash, as pw_conns is: a lookup that misses, then an update
 *                 that takes a node from the LRU lists (evicting the oldest when the local free
 *                 list is empty) and links it into its bucket.
 *   conn_lru_pcpu_new  the same with one LRU list per CPU (BPF_F_NO_COMMON_LRU).
 *   conn_set_new  an 8-way set-associative table in two arrays: one 64-byte line of tags and
 *                 ages per set, one 64-byte slot per entry. A miss reads the set's tag line
 *                 and overwrites its empty or least recently used way in place: no lists, no
 *                 second bucket, and here no lock.
 *   conn_set_locked_new  the same with the set's tag line under its bpf_spin_lock, as a
 *                 dataplane with writers on several CPUs would take it.
 *   conn_floor    the random client alone.
 *
 * And one established connection's lookup, a client drawn at random from `live_clients`
 * written before (conn_*_fill, one client a run): conn_lru_hit, conn_lru_pcpu_hit, conn_set_hit. The set's hit
 * refreshes the way's age only when the jiffy changed, as the LRU sets its reference bit only
 * when clear; a dataplane's lockless reader would also check a version word (one more load of
 * the same line), which conn_set_hit does not. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "conn_table_bench.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, struct pw_conn_key);
	__type(value, struct pw_conn);
} bench_lru SEC(".maps");

/* The same with one LRU list per CPU (BPF_F_NO_COMMON_LRU, as Katran's flow tables): an
 * insert evicts from its own CPU's list under that list's lock, never the shared one; each
 * CPU's list holds max_entries / possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct pw_conn_key);
	__type(value, struct pw_conn);
} bench_lru_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CONN_SETS);
	__type(key, __u32);
	__type(value, struct conn_set_tags);
} bench_set_tags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CONN_SETS);
	__type(key, __u32);
	__type(value, struct conn_set_ways);
} bench_set_slots SEC(".maps");

/* Set from user space before a fill or a hit run; counted by the hit runs. */
__u32 live_clients = 1;
__u32 fill_next;
__u64 hits;
__u64 misses;

static __always_inline void new_client(struct pw_conn_key *k)
{
	k->client_addr = bpf_get_prandom_u32();
	k->client_port = (__u16)bpf_get_prandom_u32();
	k->proto = 6;
	k->reserved = 0;
}

/* Live client i: address i + 1 (never 0), port 40000. */
static __always_inline void live_client(struct pw_conn_key *k, __u32 i)
{
	k->client_addr = i + 1;
	k->client_port = 40000;
	k->proto = 6;
	k->reserved = 0;
}

static __always_inline __u32 key_hash(const struct pw_conn_key *k)
{
	return (k->client_addr * 0x9e3779b1u) ^ ((__u32)k->client_port * 0x85ebca77u);
}

/* The way of `set` that holds k, or CONN_WAYS. */
static __always_inline __u32 set_find(const struct conn_set_tags *t, const struct conn_set_ways *w,
				      __u32 tag, const struct pw_conn_key *k)
{
	__u32 i;

	for (i = 0; i < CONN_WAYS; i++) {
		if (t->tag[i] == tag && w->way[i].key.client_addr == k->client_addr &&
		    w->way[i].key.client_port == k->client_port && w->way[i].key.proto == k->proto)
			return i;
	}
	return CONN_WAYS;
}

/* The set's empty way, else its least recently used one. Ages are 16-bit jiffies, compared
 * as distances from now: exact for uses within 65,536 jiffies (4.4 minutes at HZ=250), and a
 * way idle for longer is an old one either way. */
static __always_inline __u32 set_victim(const struct conn_set_tags *t, __u16 now)
{
	__u32 i, way = 0, idle, longest = 0;

	for (i = 0; i < CONN_WAYS; i++) {
		if (!t->tag[i])
			return i;
		idle = (__u16)(now - t->age[i]);
		if (idle >= longest) {
			longest = idle;
			way = i;
		}
	}
	/* way < CONN_WAYS by the loop; the mask says so to the verifier. */
	return way & (CONN_WAYS - 1);
}

static __always_inline void set_write(struct conn_set_tags *t, struct conn_set_ways *w, __u32 way,
				      __u32 tag, const struct pw_conn_key *k, __u32 now)
{
	way &= CONN_WAYS - 1;
	w->way[way].key = *k;
	__builtin_memset(&w->way[way].conn, 0, sizeof(w->way[way].conn));
	w->way[way].conn.frontend_addr = k->client_addr;
	t->tag[way] = tag;
	t->age[way] = (__u16)now;
}

SEC("xdp")
int conn_floor(struct xdp_md *ctx)
{
	struct pw_conn_key k;

	(void)ctx;
	new_client(&k);
	/* A use of the key the compiler cannot drop. */
	return k.client_addr == 0xffffffffu ? XDP_DROP : XDP_PASS;
}

static __always_inline int lru_insert(void *lru, const struct pw_conn_key *k)
{
	struct pw_conn c = {};

	if (bpf_map_lookup_elem(lru, k))
		return XDP_DROP; /* there already */
	c.frontend_addr = k->client_addr;
	bpf_map_update_elem(lru, k, &c, BPF_ANY);
	return XDP_PASS;
}

SEC("xdp")
int conn_lru_new(struct xdp_md *ctx)
{
	struct pw_conn_key k;

	(void)ctx;
	new_client(&k);
	return lru_insert(&bench_lru, &k);
}

SEC("xdp")
int conn_lru_pcpu_new(struct xdp_md *ctx)
{
	struct pw_conn_key k;

	(void)ctx;
	new_client(&k);
	return lru_insert(&bench_lru_pcpu, &k);
}

static __always_inline int set_insert(const struct pw_conn_key *k, int locked)
{
	struct conn_set_tags *t;
	struct conn_set_ways *w;
	__u32 h = key_hash(k), set = h % CONN_SETS, tag = h | 1, way;
	/* Before the lock: no helper call may happen while it is held. */
	__u32 now = (__u32)bpf_jiffies64();

	t = bpf_map_lookup_elem(&bench_set_tags, &set);
	w = bpf_map_lookup_elem(&bench_set_slots, &set);
	if (!t || !w)
		return XDP_ABORTED;
	if (locked)
		bpf_spin_lock(&t->lock);
	way = set_find(t, w, tag, k);
	if (way == CONN_WAYS)
		set_write(t, w, set_victim(t, (__u16)now), tag, k, now);
	if (locked)
		bpf_spin_unlock(&t->lock);
	return way == CONN_WAYS ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int conn_set_new(struct xdp_md *ctx)
{
	struct pw_conn_key k;

	(void)ctx;
	new_client(&k);
	return set_insert(&k, 0);
}

SEC("xdp")
int conn_set_locked_new(struct xdp_md *ctx)
{
	struct pw_conn_key k;

	(void)ctx;
	new_client(&k);
	return set_insert(&k, 1);
}

SEC("xdp")
int conn_lru_fill(struct xdp_md *ctx)
{
	struct pw_conn_key k;

	(void)ctx;
	live_client(&k, fill_next++);
	return lru_insert(&bench_lru, &k);
}

SEC("xdp")
int conn_lru_pcpu_fill(struct xdp_md *ctx)
{
	struct pw_conn_key k;

	(void)ctx;
	live_client(&k, fill_next++);
	return lru_insert(&bench_lru_pcpu, &k);
}

SEC("xdp")
int conn_set_fill(struct xdp_md *ctx)
{
	struct pw_conn_key k;

	(void)ctx;
	live_client(&k, fill_next++);
	return set_insert(&k, 0);
}

static __always_inline int lru_hit(void *lru)
{
	struct pw_conn_key k;
	struct pw_conn *c;

	live_client(&k, bpf_get_prandom_u32() % live_clients);
	c = bpf_map_lookup_elem(lru, &k);
	if (!c) {
		misses++;
		return XDP_PASS;
	}
	hits++;
	return c->frontend_addr == k.client_addr ? XDP_DROP : XDP_ABORTED;
}

SEC("xdp")
int conn_lru_hit(struct xdp_md *ctx)
{
	(void)ctx;
	return lru_hit(&bench_lru);
}

SEC("xdp")
int conn_lru_pcpu_hit(struct xdp_md *ctx)
{
	(void)ctx;
	return lru_hit(&bench_lru_pcpu);
}

SEC("xdp")
int conn_set_hit(struct xdp_md *ctx)
{
	struct pw_conn_key k;
	struct conn_set_tags *t;
	struct conn_set_ways *w;
	__u32 h, set, way, now;

	(void)ctx;
	live_client(&k, bpf_get_prandom_u32() % live_clients);
	h = key_hash(&k);
	set = h % CONN_SETS;
	now = (__u32)bpf_jiffies64();
	t = bpf_map_lookup_elem(&bench_set_tags, &set);
	w = bpf_map_lookup_elem(&bench_set_slots, &set);
	if (!t || !w)
		return XDP_ABORTED;
	way = set_find(t, w, h | 1, &k);
	if (way >= CONN_WAYS) {
		misses++;
		return XDP_PASS;
	}
	hits++;
	if (t->age[way] != (__u16)now)
		t->age[way] = (__u16)now;
	return w->way[way].conn.frontend_addr == k.client_addr ? XDP_DROP : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
