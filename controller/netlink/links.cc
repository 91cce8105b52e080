#include "netlink/links.h"

// <net/if.h> before any <linux/...> header: glibc's and the kernel's IFF_* definitions clash
// when the kernel's come first.
#include <net/if.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "netlink/netlink_socket.h"

namespace portway::netlink {
namespace {

ifinfomsg* put_ifinfo(nlmsghdr* nlh) {
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  return ifi;
}

unsigned require_ifindex(const std::string& name) {
  const unsigned idx = ifindex_of(name);
  if (idx == 0) throw NetlinkError("link " + name, ENODEV);
  return idx;
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) throw NetlinkError("link name \"" + name + "\"", EINVAL);
}

}  // namespace

unsigned ifindex_of(const std::string& name) { return if_nametoindex(name.c_str()); }

std::vector<LinkInfo> list_links() {
  std::vector<LinkInfo> out;
  RouteSocket sock;
  sock.dump(RTM_GETLINK, [](nlmsghdr* nlh) { put_ifinfo(nlh); },
            [&](const nlmsghdr* nlh) {
              if (nlh->nlmsg_type != RTM_NEWLINK) return;
              const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
              LinkInfo link;
              link.ifindex = static_cast<unsigned>(ifi->ifi_index);
              mnl_attr_parse(nlh, sizeof(*ifi),
                             [](const nlattr* attr, void* data) {
                               if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
                                   mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                                 static_cast<LinkInfo*>(data)->name = mnl_attr_get_str(attr);
                               return MNL_CB_OK;
                             },
                             &link);
              out.push_back(std::move(link));
            });
  std::sort(out.begin(), out.end(), [](const LinkInfo& a, const LinkInfo& b) { return a.ifindex < b.ifindex; });
  return out;
}

namespace {

// Calls visit(ifa, attribute) with the interface's addresses of one family: the attribute
// IPv4 names its local address in (IFA_LOCAL), IPv6 in IFA_ADDRESS (no IFA_LOCAL there).
template <class Visit>
void dump_addresses(unsigned ifindex, unsigned char family, Visit&& visit) {
  RouteSocket sock;
  sock.dump(RTM_GETADDR,
            [&](nlmsghdr* nlh) {
              auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
              ifa->ifa_family = family;
            },
            [&](const nlmsghdr* nlh) {
              if (nlh->nlmsg_type != RTM_NEWADDR) return;
              const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
              if (ifa->ifa_family != family || ifa->ifa_index != ifindex) return;
              struct Wanted {
                int type;
                const nlattr* found = nullptr;
              } wanted{family == AF_INET ? IFA_LOCAL : IFA_ADDRESS};
              mnl_attr_parse(nlh, sizeof(*ifa),
                             [](const nlattr* attr, void* data) {
                               auto* w = static_cast<Wanted*>(data);
                               if (mnl_attr_get_type(attr) == w->type) w->found = attr;
                               return MNL_CB_OK;
                             },
                             &wanted);
              if (wanted.found) visit(*ifa, wanted.found);
            });
}

}  // namespace

std::vector<net::Ipv4> ipv4_addresses(unsigned ifindex) {
  std::vector<net::Ipv4> out;
  dump_addresses(ifindex, AF_INET, [&](const ifaddrmsg&, const nlattr* attr) {
    if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return;
    if (const std::uint32_t local = mnl_attr_get_u32(attr)) out.push_back(net::Ipv4{ntohl(local)});
  });
  return out;
}

std::vector<net::Ipv6> ipv6_addresses(unsigned ifindex) {
  std::vector<net::Ipv6> out;
  dump_addresses(ifindex, AF_INET6, [&](const ifaddrmsg& ifa, const nlattr* attr) {
    // Link-local (and host-scope) addresses are left out: node ports are not served on them,
    // and the hairpin source must be routable.
    if (ifa.ifa_scope != RT_SCOPE_UNIVERSE || mnl_attr_get_payload_len(attr) != 16) return;
    net::Ipv6 a;
    std::memcpy(a.bytes.data(), mnl_attr_get_payload(attr), 16);
    out.push_back(a);
  });
  return out;
}

void create_bridge(const std::string& name) {
  check_name(name);
  RouteSocket sock;
  sock.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, "create bridge " + name, [&](nlmsghdr* nlh) {
    put_ifinfo(nlh);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, linkinfo);
  });
}

void create_veth(const std::string& name, const std::string& peer, int peer_netns_fd) {
  check_name(name);
  check_name(peer);
  RouteSocket sock;
  sock.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, "create veth " + name + "/" + peer,
               [&](nlmsghdr* nlh) {
                 put_ifinfo(nlh);
                 mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
                 nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
                 mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
                 nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
                 // VETH_INFO_PEER carries a whole ifinfomsg followed by the peer's attributes.
                 nlattr* peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
                 auto* peer_ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
                 peer_ifi->ifi_family = AF_UNSPEC;
                 mnl_attr_put_strz(nlh, IFLA_IFNAME, peer.c_str());
                 if (peer_netns_fd >= 0)
                   mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(peer_netns_fd));
                 mnl_attr_nest_end(nlh, peer_attr);
                 mnl_attr_nest_end(nlh, data);
                 mnl_attr_nest_end(nlh, linkinfo);
               });
}

void set_link_up(const std::string& name) {
  const unsigned idx = require_ifindex(name);
  RouteSocket sock;
  sock.request(RTM_NEWLINK, 0, "set " + name + " up", [&](nlmsghdr* nlh) {
    ifinfomsg* ifi = put_ifinfo(nlh);
    ifi->ifi_index = static_cast<int>(idx);
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
  });
}

bool delete_link(const std::string& name) {
  const unsigned idx = ifindex_of(name);
  if (idx == 0) return false;
  RouteSocket sock;
  try {
    sock.request(RTM_DELLINK, 0, "delete " + name, [&](nlmsghdr* nlh) {
      put_ifinfo(nlh)->ifi_index = static_cast<int>(idx);
    });
  } catch (const NetlinkError& e) {
    if (e.error() == ENODEV) return false;  // its peer's deletion took it first
    throw;
  }
  return true;
}

void add_address(const std::string& link, net::Ipv4 address, std::uint8_t prefix_length) {
  const unsigned idx = require_ifindex(link);
  RouteSocket sock;
  sock.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
               "add address " + net::to_string(address) + " to " + link, [&](nlmsghdr* nlh) {
                 auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
                 ifa->ifa_family = AF_INET;
                 ifa->ifa_prefixlen = prefix_length;
                 ifa->ifa_scope = RT_SCOPE_UNIVERSE;
                 ifa->ifa_index = idx;
                 const std::uint32_t be = htonl(address.value);
                 mnl_attr_put_u32(nlh, IFA_LOCAL, be);
                 mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
               });
}

void add_route(const net::Ipv4Prefix& dst, std::optional<net::Ipv4> gateway,
               const std::string& link) {
  const unsigned idx = link.empty() ? 0 : require_ifindex(link);
  RouteSocket sock;
  sock.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, "add route " + net::to_string(dst),
               [&](nlmsghdr* nlh) {
                 auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
                 rtm->rtm_family = AF_INET;
                 rtm->rtm_dst_len = dst.length;
                 rtm->rtm_table = RT_TABLE_MAIN;
                 rtm->rtm_protocol = RTPROT_STATIC;
                 rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
                 rtm->rtm_type = RTN_UNICAST;
                 if (dst.length > 0) mnl_attr_put_u32(nlh, RTA_DST, htonl(dst.network.value));
                 if (gateway) mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway->value));
                 if (idx) mnl_attr_put_u32(nlh, RTA_OIF, idx);
               });
}

void add_address(const std::string& link, const net::Ipv6& address, std::uint8_t prefix_length) {
  const unsigned idx = require_ifindex(link);
  RouteSocket sock;
  sock.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
               "add address " + net::to_string(address) + " to " + link, [&](nlmsghdr* nlh) {
                 auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
                 ifa->ifa_family = AF_INET6;
                 ifa->ifa_prefixlen = prefix_length;
                 ifa->ifa_scope = RT_SCOPE_UNIVERSE;
                 ifa->ifa_index = idx;
                 ifa->ifa_flags = IFA_F_NODAD;
                 mnl_attr_put(nlh, IFA_LOCAL, address.bytes.size(), address.bytes.data());
                 mnl_attr_put(nlh, IFA_ADDRESS, address.bytes.size(), address.bytes.data());
                 mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
               });
}

void add_route(const net::Ipv6Prefix& dst, std::optional<net::Ipv6> gateway, const std::string& link) {
  const unsigned idx = link.empty() ? 0 : require_ifindex(link);
  RouteSocket sock;
  sock.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, "add route " + net::to_string(dst),
               [&](nlmsghdr* nlh) {
                 auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
                 rtm->rtm_family = AF_INET6;
                 rtm->rtm_dst_len = dst.length;
                 rtm->rtm_table = RT_TABLE_MAIN;
                 rtm->rtm_protocol = RTPROT_STATIC;
                 rtm->rtm_scope = RT_SCOPE_UNIVERSE;  // IPv6 routes are universe-scoped, device routes too
                 rtm->rtm_type = RTN_UNICAST;
                 if (dst.length > 0) mnl_attr_put(nlh, RTA_DST, dst.network.bytes.size(), dst.network.bytes.data());
                 if (gateway) mnl_attr_put(nlh, RTA_GATEWAY, gateway->bytes.size(), gateway->bytes.data());
                 if (idx) mnl_attr_put_u32(nlh, RTA_OIF, idx);
               });
}

namespace {
void add_permanent_neighbour(const std::string& link, int family, const void* address, std::size_t size,
                             const std::string& shown, const std::array<std::uint8_t, 6>& mac) {
  const unsigned idx = require_ifindex(link);
  RouteSocket sock;
  sock.request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, "add neighbour " + shown + " on " + link,
               [&](nlmsghdr* nlh) {
                 auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
                 nd->ndm_family = static_cast<std::uint8_t>(family);
                 nd->ndm_ifindex = static_cast<int>(idx);
                 nd->ndm_state = NUD_PERMANENT;
                 mnl_attr_put(nlh, NDA_DST, size, address);
                 mnl_attr_put(nlh, NDA_LLADDR, mac.size(), mac.data());
               });
}
}  // namespace

void add_permanent_neighbour(const std::string& link, net::Ipv4 address,
                             const std::array<std::uint8_t, 6>& mac) {
  const std::uint32_t be = htonl(address.value);
  add_permanent_neighbour(link, AF_INET, &be, sizeof(be), net::to_string(address), mac);
}

void add_permanent_neighbour(const std::string& link, const net::Ipv6& address,
                             const std::array<std::uint8_t, 6>& mac) {
  add_permanent_neighbour(link, AF_INET6, address.bytes.data(), address.bytes.size(), net::to_string(address), mac);
}

std::array<std::uint8_t, 6> mac_address(const std::string& link) {
  check_name(link);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  ifreq req{};
  std::memcpy(req.ifr_name, link.c_str(), link.size());
  const int rc = ioctl(fd, SIOCGIFHWADDR, &req);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::system_error(err, std::generic_category(), "MAC address of " + link);
  std::array<std::uint8_t, 6> mac{};
  std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

namespace {
void ethtool_set(const std::string& link, std::uint32_t cmd, bool on, const char* what) {
  check_name(link);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  ethtool_value value{};
  value.cmd = cmd;
  value.data = on ? 1 : 0;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, link.c_str(), link.size());
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  const int rc = ioctl(fd, SIOCETHTOOL, &ifr);
  const int err = errno;
  close(fd);
  if (rc != 0) throw std::system_error(err, std::generic_category(), std::string(what) + " on " + link);
}
}  // namespace

void set_tx_checksumming(const std::string& link, bool on) {
  ethtool_set(link, ETHTOOL_STXCSUM, on, "set tx checksumming");
}

void set_gro(const std::string& link, bool on) { ethtool_set(link, ETHTOOL_SGRO, on, "set GRO"); }

namespace {
// /proc/sys/<key with dots as slashes>; /proc/sys/net is the calling thread's namespace's.
std::string sysctl_path(const std::string& key) {
  if (key.find("..") != std::string::npos || key.find('/') != std::string::npos)
    throw std::invalid_argument("invalid sysctl key " + key);
  std::string path = "/proc/sys/" + key;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}
}  // namespace

void write_sysctl(const std::string& key, const std::string& value) {
  const std::string path = sysctl_path(key);
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  const ssize_t n = write(fd, value.data(), value.size());
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    throw std::system_error(err, std::generic_category(), "write " + path);
}

std::string read_sysctl(const std::string& key) {
  const std::string path = sysctl_path(key);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      const int err = errno;
      close(fd);
      throw std::system_error(err, std::generic_category(), "read " + path);
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

LinkDrops link_drops(const std::string& link) {
  std::ifstream in("/proc/thread-self/net/dev");
  if (!in) throw std::system_error(errno, std::generic_category(), "read /proc/thread-self/net/dev");
  // Two header lines, then "  name: rx_bytes rx_packets rx_errs rx_drop rx_fifo rx_frame
  // rx_compressed rx_multicast tx_bytes tx_packets tx_errs tx_drop ...".
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto first = line.find_first_not_of(' ');
    if (line.substr(first, colon - first) != link) continue;
    std::istringstream fields(line.substr(colon + 1));
    std::uint64_t v[12] = {};
    for (auto& x : v) fields >> x;
    return {v[3], v[11]};
  }
  throw std::invalid_argument("no interface " + link + " in this network namespace");
}

}  // namespace portway::netlink
