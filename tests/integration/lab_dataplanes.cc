#include "lab_dataplanes.h"

#include "dataplane/nft/nft_dataplane.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "netlink/netns.h"

namespace portway::itest {

config::NodeSettings xdp_lab_settings(const lab::Topology& topo, const std::string& bpffs_dir) {
  config::NodeSettings s;
  s.uplinks = {topo.uplink};
  s.sandbox_interfaces = {"sb*"};
  s.service_cidr = lab::kLabServiceCidr;
  s.bpffs_dir = bpffs_dir;
  s.maps.frontends = 1024;
  s.maps.backends = 1024;
  s.maps.backend_sets = 256;
  s.maps.conntrack = 4096;
  return s;
}

LabDataplane::LabDataplane(dataplane::Kind kind, const lab::Topology& topo, const std::string& bpffs_dir)
    : kind_(kind), node_netns_(topo.node_netns) {
  netlink::NetnsGuard in(node_netns_);
  if (kind == dataplane::Kind::xdp)
    dp_ = std::make_unique<dataplane::xdp::XdpDataplane>(xdp_lab_settings(topo, bpffs_dir));
  else
    dp_ = std::make_unique<dataplane::nft::NftDataplane>();
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
  if (auto* nft = dynamic_cast<dataplane::nft::NftDataplane*>(dp_.get())) nft->wait_for_flow_cleanup();
}

void LabDataplane::remove_all() {
  if (!dp_) return;
  netlink::NetnsGuard in(node_netns_);
  dp_->remove_all();
  dp_.reset();
}

}  // namespace portway::itest
