#include "dataplane/xdp/prefilter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "dataplane/node_addresses.h"
#include "netlink/addressing.h"

namespace portway::dataplane::xdp {
namespace {

std::uint32_t mask4(std::uint8_t length) {
  return length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
}

net::Ipv6 mask6(std::uint8_t length) {
  net::Ipv6 m;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits = length > i * 8 ? std::min(8u, length - i * 8) : 0;
    m.bytes[i] = static_cast<std::uint8_t>(bits == 0 ? 0 : 0xFF << (8 - bits));
  }
  return m;
}

net::Ipv6Prefix normalized(net::Ipv6Prefix p) {
  const net::Ipv6 m = mask6(p.length);
  for (unsigned i = 0; i < 16; ++i) p.network.bytes[i] &= m.bytes[i];
  return p;
}

bool covers(const net::Ipv4Prefix& outer, const net::Ipv4Prefix& inner) {
  return outer.length <= inner.length && outer.contains(inner.network);
}
bool covers(const net::Ipv6Prefix& outer, const net::Ipv6Prefix& inner) {
  return outer.length <= inner.length && outer.contains(inner.network);
}

// Adds p unless a listed prefix covers it; drops listed prefixes p covers.
template <class Prefix>
void add_prefix(std::vector<Prefix>& list, const Prefix& p) {
  for (const auto& q : list)
    if (covers(q, p)) return;
  std::erase_if(list, [&](const Prefix& q) { return covers(p, q); });
  list.push_back(p);
}

}  // namespace

PrefilterInput prefilter_input(const config::NodeSettings& settings) {
  PrefilterInput in{settings.service_cidr, settings.service_cidr6, node_ipv4_addresses(settings), {}};
  for (const auto& a : settings.node_addresses)
    if (auto v6 = net::parse_ipv6(a)) in.node_v6.push_back(*v6);
  if (settings.node_addresses.empty()) {
    for (const auto& a : netlink::list_addresses()) {
      if (std::find(settings.uplinks.begin(), settings.uplinks.end(), a.iface) == settings.uplinks.end())
        continue;
      if (const auto* v6 = std::get_if<net::Ipv6>(&a.address)) in.node_v6.push_back(*v6);
    }
  }
  return in;
}

pw_prefilter build_prefilter(const PrefilterInput& in, const state::DataplaneState& installed) {
  std::vector<net::Ipv4Prefix> v4;
  std::vector<net::Ipv6Prefix> v6;
  add_prefix(v4, net::Ipv4Prefix{net::Ipv4{in.service_cidr.network.value & mask4(in.service_cidr.length)},
                                 in.service_cidr.length});
  if (in.service_cidr6) add_prefix(v6, normalized(*in.service_cidr6));
  for (const auto a : in.node_v4) add_prefix(v4, net::Ipv4Prefix{a, 32});
  for (const auto& a : in.node_v6) add_prefix(v6, net::Ipv6Prefix{a, 128});
  // Host prefixes cover nothing else, so a family over its capacity stays over it: adding
  // stops there (10,000 frontends outside the ranges would otherwise cost a quadratic walk).
  for (const auto& f : installed.frontends()) {
    if (const auto* a = std::get_if<net::Ipv4>(&f.key.address)) {
      if (v4.size() <= PW_PREFILTER_V4) add_prefix(v4, net::Ipv4Prefix{*a, 32});
    } else if (const auto* a6 = std::get_if<net::Ipv6>(&f.key.address)) {
      if (v6.size() <= PW_PREFILTER_V6) add_prefix(v6, net::Ipv6Prefix{*a6, 128});
    }
  }

  pw_prefilter pf{};
  if (v4.size() <= PW_PREFILTER_V4) {
    pf.flags |= PW_PREFILTER_ON4;
    pf.count4 = static_cast<std::uint8_t>(v4.size());
    for (std::size_t i = 0; i < v4.size(); ++i) {
      pf.v4[i].addr = htonl(v4[i].network.value);
      pf.v4[i].mask = htonl(mask4(v4[i].length));
    }
  }
  if (v6.size() <= PW_PREFILTER_V6) {
    pf.flags |= PW_PREFILTER_ON6;
    pf.count6 = static_cast<std::uint8_t>(v6.size());
    for (std::size_t i = 0; i < v6.size(); ++i) {
      const net::Ipv6 m = mask6(v6[i].length);
      std::memcpy(&pf.v6[i].addr, v6[i].network.bytes.data(), 16);
      std::memcpy(&pf.v6[i].mask, m.bytes.data(), 16);
    }
  }
  return pf;
}

bool prefilter_admits(const pw_prefilter& pf, const net::IpAddress& a) {
  if (const auto* v4 = std::get_if<net::Ipv4>(&a)) {
    if (!(pf.flags & PW_PREFILTER_ON4)) return true;
    const std::uint32_t d = htonl(v4->value);
    for (unsigned i = 0; i < pf.count4 && i < PW_PREFILTER_V4; ++i)
      if ((d & pf.v4[i].mask) == pf.v4[i].addr) return true;
    return false;
  }
  const auto& v6 = std::get<net::Ipv6>(a);
  if (!(pf.flags & PW_PREFILTER_ON6)) return true;
  for (unsigned i = 0; i < pf.count6 && i < PW_PREFILTER_V6; ++i) {
    bool match = true;
    for (unsigned b = 0; b < 16; ++b) {
      const auto* addr = reinterpret_cast<const std::uint8_t*>(&pf.v6[i].addr);
      const auto* mask = reinterpret_cast<const std::uint8_t*>(&pf.v6[i].mask);
      if ((v6.bytes[b] & mask[b]) != addr[b]) match = false;
    }
    if (match) return true;
  }
  return false;
}

}  // namespace portway::dataplane::xdp
