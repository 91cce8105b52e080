// The rig's node programs without a dataplane (bpf/rig_node.bpf.c): XDP_DROP, plain redirect
// into the two sink links, XDP_PASS; and what they saw.
#pragma once

#include <cstdint>
#include <memory>

#include "loader/xdp_attachment.h"

namespace portway::rig {

enum class NodeProgram { drop, redirect, pass };

class RigNodePrograms {
 public:
  RigNodePrograms();  // loads; throws loader::Error
  ~RigNodePrograms();
  RigNodePrograms(const RigNodePrograms&) = delete;
  RigNodePrograms& operator=(const RigNodePrograms&) = delete;

  // The redirect's two slots. Call it in the node's namespace: the kernel resolves a devmap's
  // ifindex in the writer's namespace.
  void set_sink_ports(unsigned first, unsigned second);
  // Attached in native mode to `ifindex` (calling thread's namespace) until the result goes.
  [[nodiscard]] loader::XdpAttachment attach(NodeProgram p, unsigned ifindex);
  // Frames the programs saw, all CPUs.
  [[nodiscard]] std::uint64_t seen() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portway::rig
