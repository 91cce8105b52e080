#include "lab_dataplanes.h"

#include "lab/cgroup_dir.h"

#include <netinet/in.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "dataplane/conntrack/conntrack_table.h"
#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "loader/lb_maps.h"
#include "netlink/netns.h"

namespace portway::itest {

std::string lab_cgroup(const lab::Topology& topo) { return lab::cgroup_path_for(topo.node_netns); }

config::NodeSettings xdp_lab_settings(const lab::Topology& topo, const std::string& bpffs_dir) {
  config::NodeSettings s;
  s.uplinks = {topo.uplink};
  s.sandbox_interfaces = {"sb*"};
  s.service_cidr = lab::kLabServiceCidr;
  s.bpffs_dir = bpffs_dir;
  // The socket hooks go on the lab's own cgroup (LabGround owns it), never the host's root.
  s.cgroup = lab_cgroup(topo);
  s.maps.frontends = 1024;
  s.maps.backends = 1024;
  s.maps.backend_sets = 256;
  s.maps.conntrack = 4096;
  s.maps.maglev_slots = 1u << 20;
  return s;
}

LabDataplane::LabDataplane(dataplane::Kind kind, const lab::Topology& topo, const std::string& bpffs_dir)
    : kind_(kind), node_netns_(topo.node_netns), bpffs_dir_(bpffs_dir) {
  netlink::NetnsGuard in(node_netns_);
  if (kind == dataplane::Kind::xdp)
    dp_ = std::make_unique<dataplane::xdp::XdpDataplane>(xdp_lab_settings(topo, bpffs_dir));
  else
    dp_ = std::make_unique<dataplane::nft::NftDataplane>(xdp_lab_settings(topo, bpffs_dir));
}

LabDataplane::~LabDataplane() {
  try {
    remove_all();
  } catch (...) {  // the namespace goes anyway; pins are checked by the caller
  }
}

// Every call runs in the node namespace: the fast path resolves links and node addresses
// there on each apply.
dataplane::ApplyReport LabDataplane::apply(const state::DataplaneState& s) {
  netlink::NetnsGuard in(node_netns_);
  return dp_->apply(s);
}

dataplane::Stats LabDataplane::stats() {
  netlink::NetnsGuard in(node_netns_);
  return dp_->stats();
}

void LabDataplane::settle() {
  dp_->settle();
}

void LabDataplane::forget_flows() {
  if (kind_ == dataplane::Kind::xdp) {
    // The connection tables are arrays of sets: emptied through LbMaps, the rest key by key.
    const auto pinned = dataplane::xdp::PinnedLbMaps::open(dataplane::xdp::PinLayout{bpffs_dir_});
    if (!pinned) throw std::runtime_error("forget flows: the fast path is not pinned under " + bpffs_dir_);
    loader::LbMaps(pinned->fds()).clear_conntrack();
    return;
  }
  netlink::NetnsGuard in(node_netns_);
  dataplane::conntrack::ConntrackTable table;  // bound to the node namespace
  std::vector<dataplane::conntrack::FlowMatch> all(2);
  all[0].protocol = IPPROTO_TCP;
  all[1].protocol = IPPROTO_UDP;
  table.delete_flows(all);
}

void LabDataplane::remove_all() {
  if (!dp_) return;
  netlink::NetnsGuard in(node_netns_);
  dp_->remove_all();
  dp_.reset();
}

}  // namespace portway::itest
