/* The set table of bpf/conn_table_bench.bpf.c, shared with the C++ that reads it
 * (tests/bpf/conn_table_bench_test.cc). Benchmark only: not part of the pinned layout. */
#pragma once

#include <linux/bpf.h>
#include <linux/types.h>

#include "portway/lb_abi.h"

#define CONN_WAYS 8
#define CONN_SETS (PW_DEFAULT_FLOWS / CONN_WAYS)

struct conn_set_tags {
	__u32 tag[CONN_WAYS]; /* the key's hash with bit 0 set: 0 is an empty way */
	__u16 age[CONN_WAYS]; /* low 16 bits of the jiffy of the last use */
	struct bpf_spin_lock lock; /* taken by conn_set_locked_new only */
	__u32 pad[3]; /* 32 + 16 + 4 + 12: one cache line per set */
};

struct conn_set_slot {
	struct pw_conn_key key;
	struct pw_conn conn;
	__u64 pad[2]; /* 8 + 40 + 16: one cache line per entry */
};

struct conn_set_ways {
	struct conn_set_slot way[CONN_WAYS];
};
