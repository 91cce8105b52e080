/* The fast path's clock: CLOCK_MONOTONIC nanoseconds at tick resolution, what pw_flow's
 * last_seen_ns, the next-hop cache and the fragment records hold and the controller compares
 * with its own clock_gettime(CLOCK_MONOTONIC).
 *
 * bpf_ktime_get_coarse_ns (kernel >= 5.11) is a helper call that reads the timekeeper under
 * its seqcount: 5 ns hot and 18 ns cold per established packet here (docs/performance.md,
 * "The jiffy clock"). bpf_jiffies64 (>= 5.5) is inlined by the verifier on 64-bit kernels:
 * one load. The kernel advances jiffies by one per TICK_NSEC of the monotonic clock (in
 * tick_do_update_jiffies64) and the coarse clock in the same tick, so
 *   coarse ns = jiffies * TICK_NSEC + offset
 * holds for the life of the boot, with an offset fixed at boot (the tick starts after the
 * monotonic clock) and TICK_NSEC fixed by CONFIG_HZ. The loader measures both before the
 * load (loader/lb_clock.h) and sets them here; without them (0: a loader that does not
 * calibrate, or a calibration that failed) the helper is called, and the verifier, which
 * knows rodata, drops the other branch. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Rodata: frozen at load, so known to the verifier and free per packet; volatile keeps clang
 * from folding the 0 defaults in at compile time. */
const volatile __u64 pw_clock_tick_ns = 0;
const volatile __u64 pw_clock_offset_ns = 0; /* two's complement: the offset may be negative */

static __always_inline __u64 pw_now_ns(void)
{
	if (pw_clock_tick_ns)
		return bpf_jiffies64() * pw_clock_tick_ns + pw_clock_offset_ns;
	return bpf_ktime_get_coarse_ns();
}
