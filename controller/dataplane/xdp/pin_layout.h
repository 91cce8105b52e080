// Where the fast path keeps its kernel objects in bpffs (node setting bpffs_dir):
//   <dir>/maps/<map name>     every map of portway_lb, plus portway's metadata maps
//   <dir>/progs/xdp, tc       the loaded programs (to attach new interfaces without a reload)
//   <dir>/progs/tc-uplink     the uplinks' tc hand-off program (uplink_delivery.h)
//   <dir>/progs/sock-<hook>   the cgroup socket-hook programs (socket_hooks.h)
//   <dir>/progs/conn-ctl4, conn-ctl6  the programs the controller writes the connection
//                             tables through (lb_abi.h, pw_conn_ctl; never attached)
//   <dir>/links/xdp-<ifname>  one pinned XDP link per uplink
//   <dir>/links/cgroup-<hook> one pinned cgroup link per socket hook
// Everything portway owns on the node is under <dir>; removing the fast path empties <dir>
// (the folder itself carries the writers' lock, loader/pin_folder_lock.h).
#pragma once

#include <string>

namespace portway::dataplane::xdp {

struct PinLayout {
  std::string dir;

  std::string maps() const { return dir + "/maps"; }
  std::string map(const std::string& name) const { return maps() + "/" + name; }
  std::string progs() const { return dir + "/progs"; }
  std::string xdp_prog() const { return progs() + "/xdp"; }
  std::string tc_prog() const { return progs() + "/tc"; }
  std::string tc_uplink_prog() const { return progs() + "/tc-uplink"; }
  std::string links() const { return dir + "/links"; }
  std::string sock_prog(const std::string& hook) const { return progs() + "/sock-" + hook; }
  std::string conn_ctl_prog(const char* family) const { return progs() + "/conn-ctl" + family; }
  std::string xdp_link(const std::string& ifname) const { return links() + "/xdp-" + ifname; }
  std::string cgroup_link(const std::string& hook) const { return links() + "/cgroup-" + hook; }
};

}  // namespace portway::dataplane::xdp
