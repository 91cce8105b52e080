// Either dataplane on a lab topology's node, behind the one Dataplane interface, so a test
// can run unchanged against both (the conformance suite, docs/dataplane.md "Parity").
#pragma once

#include <memory>
#include <string>

#include "config/node_settings.h"
#include "dataplane/dataplane.h"
#include "lab/topology.h"

namespace portway::itest {

// The cgroup of a lab topology's node processes, where the fast path's socket hooks go
// (LabGround creates and removes it).
std::string lab_cgroup(const lab::Topology& topo);

// Node settings for a lab's dataplane (both kinds): the lab uplink (node ports answer on its
// addresses), the sandbox links (sb*), small maps, and a bpffs folder of the test's own (pins
// never collide with a real node's or with another test process's).
config::NodeSettings xdp_lab_settings(const lab::Topology& topo, const std::string& bpffs_dir);

class LabDataplane {
 public:
  // Creates the dataplane with the calling thread in the node namespace (the nft dataplane
  // binds its netlink sockets there; the fast path attaches to the node's links).
  LabDataplane(dataplane::Kind kind, const lab::Topology& topo, const std::string& bpffs_dir);
  ~LabDataplane();  // remove_all(), errors swallowed: call remove_all() to see them
  LabDataplane(const LabDataplane&) = delete;
  LabDataplane& operator=(const LabDataplane&) = delete;

  dataplane::Kind kind() const { return kind_; }
  dataplane::ApplyReport apply(const state::DataplaneState& s);
  dataplane::Stats stats();
  // Waits until the last apply() has fully taken effect. The nft dataplane ends the flows of
  // removed backends on a worker thread right after the commit (docs/nftables.md "Ending
  // flows"); the fast path is done when apply() returns.
  void settle();
  // Forgets every flow the dataplane tracks, as if they had all expired (conntrack entries
  // with a DNAT; the fast path's flow and reverse tables), so the same 5-tuples come back
  // as new flows. For measuring how new-flow assignments move when the backend set changes.
  void forget_flows();
  void remove_all();

 private:
  dataplane::Kind kind_;
  std::string node_netns_;
  std::string bpffs_dir_;
  std::unique_ptr<dataplane::Dataplane> dp_;
};

}  // namespace portway::itest
