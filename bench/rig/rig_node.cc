#include "rig/rig_node.h"

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <system_error>

#include "loader/percpu_map.h"
#include "loader/skeleton.h"
#include "loader/tc_filter.h"
#include "rig_node.skel.h"

namespace portway::rig {
namespace {
PORTWAY_SKELETON_TRAITS(RigNodeTraits, rig_node);
using RigNodeSkeleton = loader::Skeleton<RigNodeTraits>;

struct Seen {
  std::uint64_t n = 0;
  Seen& operator+=(const Seen& o) {
    n += o.n;
    return *this;
  }
};
}  // namespace

struct RigNodePrograms::Impl {
  RigNodeSkeleton skel;
};

RigNodePrograms::RigNodePrograms() : impl_(std::make_unique<Impl>(Impl{RigNodeSkeleton::open_and_load()})) {}
RigNodePrograms::~RigNodePrograms() = default;

void RigNodePrograms::set_sink_ports(unsigned first, unsigned second) {
  const int fd = bpf_map__fd(impl_->skel->maps.rig_ports);
  const unsigned ports[2] = {first, second};
  for (std::uint32_t slot = 0; slot < 2; ++slot)
    if (bpf_map_update_elem(fd, &slot, &ports[slot], BPF_ANY) != 0)
      throw std::system_error(errno, std::generic_category(), "devmap slot " + std::to_string(slot));
  const int tc_fd = bpf_map__fd(impl_->skel->maps.rig_tc_ports);
  for (std::uint32_t slot = 0; slot < 2; ++slot)
    if (bpf_map_update_elem(tc_fd, &slot, &ports[slot], BPF_ANY) != 0)
      throw std::system_error(errno, std::generic_category(), "tc port slot " + std::to_string(slot));
}

TcIngress::TcIngress(unsigned ifindex, int prog_fd)
    : ifindex_(ifindex),
      created_clsact_(loader::attach_tc(static_cast<int>(ifindex), loader::TcDirection::ingress, prog_fd).created_clsact) {}

TcIngress::~TcIngress() {
  try {
    loader::detach_tc(static_cast<int>(ifindex_), loader::TcDirection::ingress, created_clsact_);
  } catch (...) {  // on the way out; the namespace goes with the rig
  }
}

std::unique_ptr<TcIngress> RigNodePrograms::attach(TcProgram p, unsigned ifindex) {
  const bpf_program* prog = p == TcProgram::redirect ? impl_->skel->progs.rig_tc_redirect
                                                     : impl_->skel->progs.rig_tc_redirect_peer;
  return std::make_unique<TcIngress>(ifindex, bpf_program__fd(prog));
}

loader::XdpAttachment RigNodePrograms::attach(NodeProgram p, unsigned ifindex) {
  const bpf_program* prog = p == NodeProgram::drop       ? impl_->skel->progs.rig_drop
                            : p == NodeProgram::redirect ? impl_->skel->progs.rig_redirect
                                                         : impl_->skel->progs.rig_pass;
  return loader::XdpAttachment(static_cast<int>(ifindex), bpf_program__fd(prog), XDP_FLAGS_DRV_MODE);
}

std::unique_ptr<TcIngress> RigNodePrograms::attach_sink(unsigned ifindex) {
  return std::make_unique<TcIngress>(ifindex, bpf_program__fd(impl_->skel->progs.rig_sink));
}

std::uint64_t RigNodePrograms::seen() const {
  return loader::PerCpuArray<Seen>(impl_->skel->maps.rig_seen).sum(0).n;
}

std::uint64_t RigNodePrograms::sunk() const {
  return loader::PerCpuArray<Seen>(impl_->skel->maps.rig_sunk).sum(0).n;
}

}  // namespace portway::rig
