#include "netlink/addressing.h"

// <net/if.h> before any <linux/...> header (see links.cc).
#include <net/if.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "netlink/links.h"
#include "netlink/netlink_socket.h"

namespace portway::netlink {
namespace {

std::map<unsigned, std::string> link_names() {
  std::map<unsigned, std::string> out;
  for (auto& l : list_links()) out.emplace(l.ifindex, std::move(l.name));
  return out;
}

// An address attribute of `family`'s length, or nullopt.
std::optional<net::IpAddress> address_of(const nlattr* attr, unsigned char family) {
  const auto len = mnl_attr_get_payload_len(attr);
  if (family == AF_INET && len == 4) {
    std::uint32_t v;
    std::memcpy(&v, mnl_attr_get_payload(attr), 4);
    return net::Ipv4{ntohl(v)};
  }
  if (family == AF_INET6 && len == 16) {
    net::Ipv6 a;
    std::memcpy(a.bytes.data(), mnl_attr_get_payload(attr), 16);
    return a;
  }
  return std::nullopt;
}

net::IpPrefix prefix_of(const net::IpAddress& a, unsigned length) {
  if (const auto* v4 = std::get_if<net::Ipv4>(&a)) {
    const std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
    return net::Ipv4Prefix{net::Ipv4{v4->value & mask}, static_cast<std::uint8_t>(length)};
  }
  net::Ipv6 n = std::get<net::Ipv6>(a);
  for (unsigned bit = length; bit < 128; ++bit)
    n.bytes[bit / 8] = static_cast<std::uint8_t>(n.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  return net::Ipv6Prefix{n, static_cast<std::uint8_t>(length)};
}

net::IpPrefix host_prefix(const net::IpAddress& a) {
  return prefix_of(a, std::holds_alternative<net::Ipv4>(a) ? 32 : 128);
}

struct AddrAttrs {
  unsigned char family;
  std::optional<net::IpAddress> local, address;
};

struct RouteAttrs {
  unsigned char family;
  std::optional<net::IpAddress> dst, gateway;
  unsigned oif = 0;
  std::uint32_t table = 0;
};

}  // namespace

std::vector<net::InterfaceAddress> list_addresses() {
  const auto names = link_names();
  std::vector<net::InterfaceAddress> out;
  RouteSocket sock;
  sock.dump(RTM_GETADDR,
            [](nlmsghdr* nlh) {
              auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
              ifa->ifa_family = AF_UNSPEC;
            },
            [&](const nlmsghdr* nlh) {
              if (nlh->nlmsg_type != RTM_NEWADDR) return;
              const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
              AddrAttrs attrs{ifa->ifa_family, {}, {}};
              mnl_attr_parse(nlh, sizeof(*ifa),
                             [](const nlattr* attr, void* data) {
                               auto* a = static_cast<AddrAttrs*>(data);
                               const auto type = mnl_attr_get_type(attr);
                               if (type == IFA_LOCAL) a->local = address_of(attr, a->family);
                               if (type == IFA_ADDRESS) a->address = address_of(attr, a->family);
                               return MNL_CB_OK;
                             },
                             &attrs);
              // On a point-to-point link IFA_ADDRESS is the peer; IFA_LOCAL is ours.
              auto mine = attrs.local ? attrs.local : attrs.address;
              if (!mine) return;
              const auto name = names.find(ifa->ifa_index);
              out.push_back({name == names.end() ? "#" + std::to_string(ifa->ifa_index) : name->second, *mine});
            });
  return out;
}

std::vector<net::InterfacePrefix> list_link_prefixes(const std::vector<std::string>& links) {
  const auto names = link_names();
  std::vector<net::InterfacePrefix> out;
  RouteSocket sock;
  sock.dump(RTM_GETROUTE,
            [](nlmsghdr* nlh) {
              auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
              rtm->rtm_family = AF_UNSPEC;
            },
            [&](const nlmsghdr* nlh) {
              if (nlh->nlmsg_type != RTM_NEWROUTE) return;
              const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
              if (rtm->rtm_type != RTN_UNICAST) return;
              RouteAttrs attrs{rtm->rtm_family, {}, {}, 0, rtm->rtm_table};
              mnl_attr_parse(nlh, sizeof(*rtm),
                             [](const nlattr* attr, void* data) {
                               auto* r = static_cast<RouteAttrs*>(data);
                               switch (mnl_attr_get_type(attr)) {
                                 case RTA_DST: r->dst = address_of(attr, r->family); break;
                                 case RTA_GATEWAY: r->gateway = address_of(attr, r->family); break;
                                 case RTA_OIF:
                                   if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) r->oif = mnl_attr_get_u32(attr);
                                   break;
                                 case RTA_TABLE:
                                   if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) r->table = mnl_attr_get_u32(attr);
                                   break;
                                 default: break;
                               }
                               return MNL_CB_OK;
                             },
                             &attrs);
              if (attrs.table != RT_TABLE_MAIN) return;
              const auto name = names.find(attrs.oif);
              if (name == names.end() ||
                  std::find(links.begin(), links.end(), name->second) == links.end())
                return;
              if (attrs.gateway) out.push_back({name->second, host_prefix(*attrs.gateway)});
              else if (attrs.dst && rtm->rtm_dst_len > 0)
                out.push_back({name->second, prefix_of(*attrs.dst, rtm->rtm_dst_len)});
            });
  return out;
}

net::NodeAddressing read_node_addressing(const std::vector<std::string>& uplinks) {
  return {list_addresses(), list_link_prefixes(uplinks)};
}

}  // namespace portway::netlink
