#include "loader/prog_test_run.h"

#include <linux/bpf.h>

#include <limits>
#include <string>

#include <bpf/bpf.h>

#include "loader/error.h"

namespace portway::loader {
namespace {

std::uint32_t to_u32(std::size_t n, const char* what) {
  if (n > std::numeric_limits<std::uint32_t>::max()) {
    throw Error("BPF_PROG_TEST_RUN", E2BIG, what);
  }
  return static_cast<std::uint32_t>(n);
}

}  // namespace

TestRunResult test_run(int prog_fd, std::span<const std::uint8_t> input,
                       const TestRunOptions& options) {
  TestRunResult result;
  const std::size_t capacity =
      options.output_capacity != 0 ? options.output_capacity : input.size() + kDefaultOutputSlack;
  result.output.resize(capacity);

  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = input.data();
  opts.data_size_in = to_u32(input.size(), "input larger than 4 GiB");
  opts.data_out = result.output.data();
  opts.data_size_out = to_u32(capacity, "output capacity larger than 4 GiB");
  opts.repeat = options.repeat;

  xdp_md ctx{};
  if (options.xdp) {
    ctx.data = options.xdp->metadata_len;
    // The kernel insists that data_end equals the input size: the frame is always all of it.
    ctx.data_end = opts.data_size_in;
    ctx.ingress_ifindex = options.xdp->ingress_ifindex;
    ctx.rx_queue_index = options.xdp->rx_queue_index;
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
  }

  __sk_buff skb{};
  if (options.tc) {
    if (options.xdp) {
      throw Error("BPF_PROG_TEST_RUN", EINVAL, "both an XDP and a tc context given");
    }
    skb.ifindex = options.tc->ifindex;
    skb.ingress_ifindex = options.tc->ingress_ifindex;
    skb.gso_segs = options.tc->gso_segs;
    skb.gso_size = options.tc->gso_size;
    opts.ctx_in = &skb;
    opts.ctx_size_in = sizeof(skb);
  }

  const int ret = bpf_prog_test_run_opts(prog_fd, &opts);
  if (ret == -ENOSPC) {
    throw Error("BPF_PROG_TEST_RUN", ret,
                "output is " + std::to_string(opts.data_size_out) + " bytes, capacity " +
                    std::to_string(capacity));
  }
  check(ret, "BPF_PROG_TEST_RUN");

  result.retval = opts.retval;
  result.duration_ns = opts.duration;
  result.output.resize(opts.data_size_out);
  return result;
}

}  // namespace portway::loader
