#include "netlink/link_events.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "netlink/netlink_socket.h"

namespace portway::netlink {
namespace {

struct Parsed {
  std::string ifname;
  std::uint32_t xdp_prog = 0;
};

int on_xdp_attr(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == IFLA_XDP_PROG_ID && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
    static_cast<Parsed*>(data)->xdp_prog = mnl_attr_get_u32(attr);
  return MNL_CB_OK;
}

int on_link_attr(const nlattr* attr, void* data) {
  auto* p = static_cast<Parsed*>(data);
  switch (mnl_attr_get_type(attr)) {
    case IFLA_IFNAME:
      if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) p->ifname = mnl_attr_get_str(attr);
      break;
    case IFLA_XDP:
      mnl_attr_parse_nested(attr, on_xdp_attr, p);
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

}  // namespace

std::string to_string(LinkChange::Kind k) {
  switch (k) {
    case LinkChange::Kind::appeared: return "appeared";
    case LinkChange::Kind::gone: return "gone";
    case LinkChange::Kind::xdp_changed: return "xdp_changed";
  }
  return "?";
}

LinkWatch::LinkWatch() : sock_(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK)) {
  if (!sock_) throw NetlinkError("netlink socket for link events", errno);
  if (mnl_socket_bind(sock_, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(sock_);
    throw NetlinkError("subscribing to link events", err);
  }
  resync();  // subscribed first: nothing that happens during the dump is missed
}

LinkWatch::~LinkWatch() { mnl_socket_close(sock_); }

int LinkWatch::fd() const { return mnl_socket_get_fd(sock_); }

void LinkWatch::observe(const nlmsghdr* nlh, std::map<std::string, Known>& into,
                        std::vector<LinkChange>* changes) {
  if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) return;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  Parsed p;
  mnl_attr_parse(nlh, sizeof(*ifi), on_link_attr, &p);
  if (p.ifname.empty()) return;
  const unsigned ifindex = static_cast<unsigned>(ifi->ifi_index);
  auto it = into.find(p.ifname);
  if (nlh->nlmsg_type == RTM_DELLINK) {
    if (it == into.end() || it->second.ifindex != ifindex) return;
    into.erase(it);
    if (changes) changes->push_back({LinkChange::Kind::gone, p.ifname, ifindex});
    return;
  }
  if (it == into.end() || it->second.ifindex != ifindex) {
    into[p.ifname] = {ifindex, p.xdp_prog};
    if (changes) changes->push_back({LinkChange::Kind::appeared, p.ifname, ifindex});
    return;
  }
  if (it->second.xdp_prog != p.xdp_prog) {
    it->second.xdp_prog = p.xdp_prog;
    if (changes) changes->push_back({LinkChange::Kind::xdp_changed, p.ifname, ifindex});
  }
}

std::vector<LinkChange> LinkWatch::resync() {
  std::map<std::string, Known> now;
  RouteSocket dump_socket;
  dump_socket.dump(RTM_GETLINK,
                   [](nlmsghdr* nlh) {
                     auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
                     ifi->ifi_family = AF_UNSPEC;
                   },
                   [&](const nlmsghdr* nlh) { observe(nlh, now, nullptr); });
  std::vector<LinkChange> changes;
  for (const auto& [name, known] : links_) {
    auto it = now.find(name);
    if (it == now.end() || it->second.ifindex != known.ifindex)
      changes.push_back({LinkChange::Kind::gone, name, known.ifindex});
  }
  for (const auto& [name, known] : now) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second.ifindex != known.ifindex)
      changes.push_back({LinkChange::Kind::appeared, name, known.ifindex});
    else if (it->second.xdp_prog != known.xdp_prog)
      changes.push_back({LinkChange::Kind::xdp_changed, name, known.ifindex});
  }
  links_ = std::move(now);
  return changes;
}

std::vector<LinkChange> LinkWatch::drain() {
  std::vector<LinkChange> changes;
  auto buf = std::make_unique<char[]>(MNL_SOCKET_BUFFER_SIZE);
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_, buf.get(), MNL_SOCKET_BUFFER_SIZE);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        // The kernel dropped events for us: what we know may be stale; ask again.
        for (auto& c : resync()) changes.push_back(std::move(c));
        continue;
      }
      throw NetlinkError("reading link events", errno);
    }
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.get());
    int len = static_cast<int>(n);
    for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) observe(nlh, links_, &changes);
  }
  return changes;
}

}  // namespace portway::netlink
