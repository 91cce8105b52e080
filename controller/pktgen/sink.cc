#include "pktgen/sink.h"

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "loader/percpu_map.h"
#include "loader/skeleton.h"
#include "loader/xdp_attachment.h"
#include "xdp_sink.skel.h"

namespace portway::pktgen {
namespace {
PORTWAY_SKELETON_TRAITS(SinkTraits, xdp_sink);
using SinkSkeleton = loader::Skeleton<SinkTraits>;

// Keys of the flow set, bounded by its capacity.
std::uint64_t count_keys(int fd) {
  portway_sink_flow key{}, next{};
  std::uint64_t n = 0;
  const portway_sink_flow* prev = nullptr;
  while (n < PORTWAY_SINK_FLOW_ENTRIES && bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    ++n;
  }
  return n;
}
}  // namespace

struct Sink::Impl {
  SinkSkeleton skel;
  loader::XdpAttachment attachment;
  SinkOptions options;
};

Sink::Sink(unsigned ifindex, const SinkOptions& options) {
  auto skel = SinkSkeleton::open_and_load([&](xdp_sink& s) {
    s.rodata->sink_latency = options.latency ? 1 : 0;
    s.rodata->sink_flows = options.flows ? 1 : 0;
  });
  loader::XdpAttachment attachment(static_cast<int>(ifindex), bpf_program__fd(skel->progs.xdp_sink),
                                   options.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
  impl_ = std::make_unique<Impl>(Impl{std::move(skel), std::move(attachment), options});
}

Sink::~Sink() = default;

std::uint64_t Sink::packets() const {
  return loader::PerCpuArray<portway_sink_counters>(impl_->skel->maps.sink_counters).sum(0).packets;
}

SinkReading Sink::read() const {
  SinkReading r;
  const auto c = loader::PerCpuArray<portway_sink_counters>(impl_->skel->maps.sink_counters).sum(0);
  r.packets = c.packets;
  r.bytes = c.bytes;
  r.runts = c.runt_packets;
  if (impl_->options.latency)
    r.latency = summarize(loader::PerCpuArray<portway_sink_latency>(impl_->skel->maps.sink_latency_hist).sum(0));
  if (impl_->options.flows) r.flows = count_keys(bpf_map__fd(impl_->skel->maps.sink_flow_set));
  return r;
}

}  // namespace portway::pktgen
