#include "veth_pair.h"

#include <unistd.h>

#include "netlink/links.h"
#include "netlink/netns.h"

namespace portway::test {
namespace {
void quiet(const std::string& netns) {
  netlink::NetnsGuard in(netns);
  // No router solicitations or MLD reports: the sink counts every frame on its link.
  netlink::write_sysctl("net.ipv6.conf.all.disable_ipv6", "1");
  netlink::write_sysctl("net.ipv6.conf.default.disable_ipv6", "1");
}
}  // namespace

VethPair::VethPair(const std::string& tag)
    : gen_("pwpg" + std::to_string(getpid()) + tag + "g"), sink_("pwpg" + std::to_string(getpid()) + tag + "s") {
  try {
    netlink::create_named_netns(gen_);
    netlink::create_named_netns(sink_);
    quiet(gen_);
    quiet(sink_);
    const int sink_fd = netlink::open_named_netns(sink_);
    {
      netlink::NetnsGuard in(gen_);
      try {
        netlink::create_veth(kGenLink, kSinkLink, sink_fd);
      } catch (...) {
        ::close(sink_fd);
        throw;
      }
      ::close(sink_fd);
      netlink::set_link_up(kGenLink);
      gen_mac_ = netlink::mac_address(kGenLink);
    }
    netlink::NetnsGuard in(sink_);
    netlink::set_link_up(kSinkLink);
    sink_mac_ = netlink::mac_address(kSinkLink);
  } catch (...) {
    netlink::delete_named_netns(gen_);
    netlink::delete_named_netns(sink_);
    throw;
  }
}

VethPair::~VethPair() {
  netlink::delete_named_netns(gen_);
  netlink::delete_named_netns(sink_);
}

}  // namespace portway::test
