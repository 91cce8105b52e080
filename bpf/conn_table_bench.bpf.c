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
 *   conn_set_new  an 8-way set-associative table in two arrays: one 64-byte line of tags and
 *                 ages per set, one 64-byte slot per entry. A miss reads the set's tag line
 *                 and overwrites the oldest way in place: no lists, no locks, no second bucket.
 *   conn_floor    the random client alone.
 *
 * The set table is single-writer as written (a test run is one CPU); a dataplane would need a
 * per-set lock or a version word, which the benchmark does not pay. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "portway/lb_abi.h"

#define CONN_WAYS 8
#define CONN_SETS (PW_DEFAULT_FLOWS / CONN_WAYS)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, struct pw_conn_key);
	__type(value, struct pw_conn);
} bench_lru SEC(".maps");

struct conn_set_tags {
	__u32 tag[CONN_WAYS]; /* the key's hash with bit 0 set: 0 is an empty way */
	__u32 age[CONN_WAYS]; /* jiffies of the last write; the smallest is evicted */
};

struct conn_set_slot {
	struct pw_conn_key key;
	struct pw_conn conn;
	__u64 pad[2]; /* 8 + 40 + 16: one cache line per entry */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CONN_SETS);
	__type(key, __u32);
	__type(value, struct conn_set_tags);
} bench_set_tags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_DEFAULT_FLOWS);
	__type(key, __u32);
	__type(value, struct conn_set_slot);
} bench_set_slots SEC(".maps");

static __always_inline void new_client(struct pw_conn_key *k)
{
	k->client_addr = bpf_get_prandom_u32();
	k->client_port = (__u16)bpf_get_prandom_u32();
	k->proto = 6;
	k->reserved = 0;
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

SEC("xdp")
int conn_lru_new(struct xdp_md *ctx)
{
	struct pw_conn_key k;
	struct pw_conn c = {};

	(void)ctx;
	new_client(&k);
	if (bpf_map_lookup_elem(&bench_lru, &k))
		return XDP_DROP; /* an old client drawn again: not a new connection */
	c.frontend_addr = k.client_addr;
	bpf_map_update_elem(&bench_lru, &k, &c, BPF_ANY);
	return XDP_PASS;
}

SEC("xdp")
int conn_set_new(struct xdp_md *ctx)
{
	struct pw_conn_key k;
	struct conn_set_tags *t;
	struct conn_set_slot *s;
	__u32 h, set, i, way = 0, oldest = 0xffffffffu, slot;

	(void)ctx;
	new_client(&k);
	h = (k.client_addr * 0x9e3779b1u) ^ ((__u32)k.client_port * 0x85ebca77u);
	set = h % CONN_SETS;
	h |= 1;
	t = bpf_map_lookup_elem(&bench_set_tags, &set);
	if (!t)
		return XDP_ABORTED;
	for (i = 0; i < CONN_WAYS; i++) {
		if (t->tag[i] == h) {
			slot = set * CONN_WAYS + i;
			s = bpf_map_lookup_elem(&bench_set_slots, &slot);
			if (s && s->key.client_addr == k.client_addr &&
			    s->key.client_port == k.client_port && s->key.proto == k.proto)
				return XDP_DROP;
		}
		if (t->age[i] < oldest) {
			oldest = t->age[i];
			way = i;
		}
	}
	/* way < CONN_WAYS by the loop; the mask says so to the verifier. */
	way &= CONN_WAYS - 1;
	slot = set * CONN_WAYS + way;
	s = bpf_map_lookup_elem(&bench_set_slots, &slot);
	if (!s)
		return XDP_ABORTED;
	s->key = k;
	__builtin_memset(&s->conn, 0, sizeof(s->conn));
	s->conn.frontend_addr = k.client_addr;
	t->tag[way] = h;
	t->age[way] = (__u32)bpf_jiffies64();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
