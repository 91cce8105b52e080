// The rig's node programs without a dataplane (bpf/rig_node.bpf.c): XDP_DROP, plain redirect
// into the two sink links, XDP_PASS, and the tc redirects behind XDP_PASS; and what they saw.
#pragma once

#include <cstdint>
#include <memory>

#include "loader/xdp_attachment.h"

namespace portway::rig {

enum class NodeProgram { drop, redirect, pass };
enum class TcProgram { redirect, redirect_peer };

// A rig tc program on an interface's tc ingress, removed (with the clsact qdisc when it made
// it) when this goes. Uses portway's filter identity (loader/tc_filter.h): never attach it
// while the fast path's own pw_tc_uplink is on the same interface.
class TcIngress {
 public:
  TcIngress(unsigned ifindex, int prog_fd);
  ~TcIngress();
  TcIngress(const TcIngress&) = delete;
  TcIngress& operator=(const TcIngress&) = delete;

 private:
  unsigned ifindex_;
  bool created_clsact_;
};

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
  // On `ifindex`'s tc ingress (calling thread's namespace) until the result goes.
  [[nodiscard]] std::unique_ptr<TcIngress> attach(TcProgram p, unsigned ifindex);
  // rig_sink on `ifindex`'s tc ingress (a sink's eth0, calling thread's namespace).
  [[nodiscard]] std::unique_ptr<TcIngress> attach_sink(unsigned ifindex);
  // Frames the node programs saw, all CPUs.
  [[nodiscard]] std::uint64_t seen() const;
  // Frames the tc sinks counted, all sinks and CPUs.
  [[nodiscard]] std::uint64_t sunk() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portway::rig
