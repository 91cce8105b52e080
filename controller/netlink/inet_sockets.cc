#include "netlink/inet_sockets.h"

#include <libmnl/libmnl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "netlink/netlink_socket.h"

namespace portway::netlink {
namespace {

inet_diag_req_v2* put_request(nlmsghdr* nlh, std::uint8_t family, std::uint8_t protocol) {
  auto* req = static_cast<inet_diag_req_v2*>(mnl_nlmsg_put_extra_header(nlh, sizeof(inet_diag_req_v2)));
  req->sdiag_family = family;
  req->sdiag_protocol = protocol;
  return req;
}

std::vector<InetSocket> list_inet_sockets(std::uint8_t family, std::uint8_t protocol) {
  RouteSocket diag(NETLINK_SOCK_DIAG);
  std::vector<InetSocket> out;
  diag.dump(
      SOCK_DIAG_BY_FAMILY,
      [&](nlmsghdr* nlh) {
        // TCP states are a bit mask of TCP_* values; UDP sockets report TCP_ESTABLISHED when
        // connected and TCP_CLOSE when not, and both may carry a peer.
        put_request(nlh, family, protocol)->idiag_states = ~(1u << TCP_LISTEN);
      },
      [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY) return;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(inet_diag_msg)) return;
        const auto* msg = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(nlh));
        const auto* dst = msg->id.idiag_dst;
        if (msg->idiag_family != family || (dst[0] | dst[1] | dst[2] | dst[3]) == 0) return;
        InetSocket s;
        s.protocol = protocol;
        s.family = family;
        if (family == AF_INET)
          s.daddr = dst[0];
        else
          s.daddr6 = {dst[0], dst[1], dst[2], dst[3]};
        s.dport = msg->id.idiag_dport;
        s.cookie = static_cast<std::uint64_t>(msg->id.idiag_cookie[0]) |
                   static_cast<std::uint64_t>(msg->id.idiag_cookie[1]) << 32;
        s.id = msg->id;
        out.push_back(s);
      });
  return out;
}

}  // namespace

std::vector<InetSocket> list_inet4_sockets(std::uint8_t protocol) { return list_inet_sockets(AF_INET, protocol); }

std::vector<InetSocket> list_inet6_sockets(std::uint8_t protocol) { return list_inet_sockets(AF_INET6, protocol); }

bool destroy_inet_socket(const InetSocket& s) {
  RouteSocket diag(NETLINK_SOCK_DIAG);
  try {
    diag.request(SOCK_DESTROY, 0, "destroy socket", [&](nlmsghdr* nlh) {
      inet_diag_req_v2* req = put_request(nlh, s.family, s.protocol);
      req->idiag_states = ~0u;
      req->id = s.id;  // addresses, ports, interface and cookie must all match
    });
  } catch (const NetlinkError& e) {
    if (e.error() == ENOENT) return false;
    throw;
  }
  return true;
}

}  // namespace portway::netlink
