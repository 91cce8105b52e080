// BPF_PROG_TEST_RUN for XDP and tc programs: bytes in, verdict and bytes out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace portway::loader {

// The xdp_md fields the kernel accepts on input (data_end and egress_ifindex are implied).
struct XdpContext {
  // The first metadata_len bytes of the input are XDP metadata (data_meta..data), the rest is
  // the frame. The kernel wants a multiple of 4, at most 32.
  std::uint32_t metadata_len = 0;
  // 0 means the loopback device's queue 0; otherwise a device in the caller's netns whose
  // rx queue has XDP info registered.
  std::uint32_t ingress_ifindex = 0;
  std::uint32_t rx_queue_index = 0;
};

// The __sk_buff fields a tc test run may set (the kernel refuses the others).
struct TcContext {
  // skb->dev: a device in the caller's netns (0 or 1: loopback).
  std::uint32_t ifindex = 0;
  // skb->skb_iif, what the program reads as ingress_ifindex.
  std::uint32_t ingress_ifindex = 0;
  // skb_shinfo(skb)->gso_segs and gso_size: nonzero makes the skb one a GRO merge would give
  // (several segments of gso_size payload bytes in one skb).
  std::uint16_t gso_segs = 0;
  std::uint32_t gso_size = 0;
};

struct TestRunOptions {
  // Runs the program this many times on the same buffer (it is not reset in between: a
  // program that rewrites the frame runs on its own output from the second run on).
  std::uint32_t repeat = 1;
  // Bytes reserved for the output; 0 means input size + kDefaultOutputSlack. Too small a
  // buffer is an error (ENOSPC), never a silent truncation.
  std::size_t output_capacity = 0;
  // XDP only.
  std::optional<XdpContext> xdp = std::nullopt;
  // tc (BPF_PROG_TYPE_SCHED_CLS) only.
  std::optional<TcContext> tc = std::nullopt;
};

// Room for growth: bpf_xdp_adjust_head can add at most the 256-byte XDP headroom and
// bpf_xdp_adjust_tail at most the rest of one page, so a program cannot outgrow this.
inline constexpr std::size_t kDefaultOutputSlack = 8192;

struct TestRunResult {
  std::uint32_t retval = 0;               // XDP_* or TC_ACT_* verdict
  std::vector<std::uint8_t> output;       // the frame after the program (with metadata, if any)
  std::uint32_t duration_ns = 0;          // mean per run over `repeat` runs, as the kernel timed it
};

// Runs the program once (or `repeat` times) on `input` on the calling thread's CPU. Throws
// loader::Error with the kernel's errno when the kernel refuses the run (e.g. EINVAL for a
// frame shorter than an Ethernet header). For XDP, input beyond 3520 bytes reaches the program
// as fragments after a linear head (also when the program is not "xdp.frags").
[[nodiscard]] TestRunResult test_run(int prog_fd, std::span<const std::uint8_t> input,
                                     const TestRunOptions& options = {});

}  // namespace portway::loader
