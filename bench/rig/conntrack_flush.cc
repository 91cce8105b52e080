#include "rig/conntrack_flush.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <fstream>

#include "netlink/netlink_socket.h"

namespace portway::rig {

namespace {

// /proc/sys/net answers for the namespace of the thread that opens the file.
std::uint64_t read_count(const char* path) {
  std::ifstream in(path);
  std::uint64_t n = 0;
  return (in >> n) ? n : 0;
}

}  // namespace

std::uint64_t conntrack_entries() { return read_count("/proc/sys/net/netfilter/nf_conntrack_count"); }

std::uint64_t conntrack_max() { return read_count("/proc/sys/net/netfilter/nf_conntrack_max"); }

void flush_conntrack() {
  netlink::RouteSocket sock(NETLINK_NETFILTER);
  // A delete without a tuple is a flush; family AF_UNSPEC matches every entry (the kernel's
  // flush filter skips the family check for 0).
  sock.request((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE, 0, "flush conntrack", [](nlmsghdr* nlh) {
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
  });
}

}  // namespace portway::rig
