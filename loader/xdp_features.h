// What the running kernel lets XDP programs do, asked once per process. Some kernels are built
// without helpers the fast path would use; the programs then take another way (their rodata
// says which, set by the loader before the load) instead of failing the verifier.
#pragma once

namespace portway::loader {

// Whether XDP programs may call bpf_xdp_adjust_meta (the metadata in front of a frame that the
// XDP -> tc hand-off rides on, bpf/lib/delivery.h). Upstream kernels >= 4.15 do; a kernel
// built to refuse it answers "program of this type cannot use helper". Asked through
// libbpf_probe_bpf_helper (a one-instruction program the verifier checks), cached.
[[nodiscard]] bool xdp_metadata_supported();

// Whether BPF_PROG_RUN runs XDP programs on live frames (BPF_F_TEST_XDP_LIVE_FRAMES, kernel >=
// 5.18), what `portway pktgen send` is built on. A kernel may refuse it (EPERM; seen on this
// project's development machines on 2026-12-05). Asked once per process by running an
// XDP_DROP program on one frame of the loopback device (a dropped frame goes nowhere), cached.
[[nodiscard]] bool xdp_live_frames_supported();

}  // namespace portway::loader
