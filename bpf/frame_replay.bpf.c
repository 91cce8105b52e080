// SPDX-License-Identifier: GPL-2.0
/* One connection's packets, again and again, for BPF_PROG_TEST_RUN with `repeat` > 1
 * (bench/bench_xdp.cc, tests/support/frame_replay.h). A test run hands each repeat the
 * previous repeat's output, which pw_xdp_uplink has already translated; frame_replay writes
 * the client frame's headers back over it and tail-calls the program in slot 0 of
 * replay_target. Every repeat is then the same client packet of one established connection.
 * Its own cost is measured with the floor (bpf/xdp_sink.bpf.c) in slot 0.
 *
 * "xdp.frags" as pw_xdp_uplink: a prog array takes only programs of the kind its first one
 * was, multi-buffer or not. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PW_REPLAY_MAX 80 /* bytes: Ethernet + IPv6 + TCP (74) fits */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} replay_target SEC(".maps");

/* Rodata, set between open and load: the client frame's first replay_len (8..80) bytes. Both
 * are known to the verifier at load, which unrolls the copy to exactly those stores. */
const volatile __u8 replay_head[PW_REPLAY_MAX] = {};
const volatile __u32 replay_len = 0;

SEC("xdp.frags")
int frame_replay(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 i, off;

	/* Eight bytes at a time; the last store overlaps the one before it when the length is
	 * not a multiple of eight, so every byte up to replay_len is the client's again. */
#pragma unroll
	for (i = 0; i < PW_REPLAY_MAX / 8; i++) {
		off = i * 8;
		if (off >= replay_len)
			break;
		if (off + 8 > replay_len)
			off = replay_len - 8;
		/* Never true (user space caps replay_len at 80), but it bounds the read from
		 * replay_head for the verifier on kernels that do not fold frozen rodata. */
		if (off > PW_REPLAY_MAX - 8)
			return XDP_ABORTED;
		/* Bounds per store: the verifier knows the packet's length only from a check. */
		if (data + off + 8 > end)
			return XDP_ABORTED;
		*(__u64 *)(data + off) = *(const volatile __u64 *)(replay_head + off);
	}
	bpf_tail_call(ctx, &replay_target, 0);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
