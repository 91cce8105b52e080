#include "lb_lab6.h"

#include <bpf/bpf.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <string>
#include <vector>

#include "loader/map_info.h"

namespace portway::test::lb {
namespace {

void ip6(const std::string& args) {
  const std::string cmd = "ip -6 " + args + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("lab setup failed: " + cmd);
  }
}

void update(int fd, const void* key, const void* value, const char* what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) {
    throw std::runtime_error(std::string{"lab6: update "} + what + ": " + std::strerror(errno));
  }
}

pw_in6 in6(const Ipv6Address& a) {
  pw_in6 v{};
  std::memcpy(&v, a.data(), sizeof(v));
  return v;
}

void update_locked(int fd, const std::uint32_t* key, const pw_conn6_set* value) {
  if (bpf_map_update_elem(fd, key, value, BPF_F_LOCK) != 0) throw std::system_error(errno, std::generic_category(), "clear pw_conn_sets6");
}

template <typename Key>
void clear_hash(int fd) {
  Key key{};
  Key next{};
  std::vector<Key> keys;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  for (const auto& k : keys) {
    (void)bpf_map_delete_elem(fd, &k);
  }
}

// Every set of an IPv6 connection table zeroed, each under its lock.
void clear_conn_sets6(int fd) {
  const pw_conn6_set empty{};
  for (std::uint32_t i = 0; i < loader::map_info(fd).max_entries; ++i)
    update_locked(fd, &i, &empty);
}

pw_frontend6_key fe6_key(const Ipv6Address* addr, std::uint16_t port, std::uint8_t proto,
                         pw_frontend_kind kind) {
  pw_frontend6_key k{};
  if (addr) k.addr = in6(*addr);
  k.port = be16(port);
  k.proto = proto;
  k.kind = kind;
  return k;
}

pw_frontend fe6(std::uint32_t id, std::uint32_t set, std::uint16_t target) {
  pw_frontend f{};
  f.id = id;
  f.set_id = set;
  f.target_port = be16(target);
  f.gen = kGen6;
  return f;
}

}  // namespace

void lab6_topology() {
  {
    std::ofstream f("/proc/sys/net/ipv6/conf/all/forwarding");
    f << "1";
    if (!f) throw std::runtime_error("cannot enable IPv6 forwarding in the lab");
  }
  ip6("addr add " + ipv6_text(kNode6) + "/64 dev pwup0 nodad");
  ip6("addr add " + ipv6_text(kNode6b) + "/64 dev pwup0 nodad");
  ip6("route add 2001:2::/64 dev pwup0");
  ip6("neigh add " + ipv6_text(kClient6) + " lladdr " + mac_text(kClientMac) +
      " dev pwup0 nud permanent");
  ip6("addr add " + ipv6_text(lab6(0x80, 0xfe)) + "/64 dev pwbk0 nodad");
  ip6("neigh add " + ipv6_text(kSandbox6) + " lladdr " + mac_text(kSandboxMac) +
      " dev pwbk0 nud permanent");
  ip6("route add 2001:2:0:81::/64 dev pwbk0 mtu lock " + std::to_string(kSmallMtu6Value));
  ip6("neigh add " + ipv6_text(kSmallMtu6) + " lladdr " + mac_text(kSmallMtuMac) +
      " dev pwbk0 nud permanent");
}

void set_frontend_gen(LbLab& lab, std::uint32_t id, std::uint32_t gen) {
  update(lab.fds().frontend_gens, &id, &gen, "pw_frontend_gens");
}

std::size_t flows6_count(LbLab& lab) { return lab.maps().flows6().size(); }

void configure6(LbLab& lab) {
  const loader::LbMapFds fds = lab.fds();
  clear_hash<pw_flow6_key>(fds.flows6);
  clear_hash<pw_flow6_key>(fds.reverse6);
  clear_conn_sets6(fds.conn_sets6);
  clear_hash<pw_fragment6_key>(fds.fragments6);
  clear_hash<pw_frontend6_key>(fds.frontends6);
  clear_hash<pw_in6>(fds.service_addrs6);
  clear_hash<pw_in6>(fds.node_addrs6);
  for (std::uint32_t id = 0; id < kBackendIdLimit; ++id) {
    const pw_in6 none{};
    const pw_nexthop6 nh{};
    update(fds.backend_addrs6, &id, &none, "pw_backend_addrs6");
    update(fds.nexthops6, &id, &nh, "pw_nexthops6");
  }
  for (std::uint32_t set = 0; set < 8; ++set) {
    const std::uint64_t none = 0;
    update(fds.set_descs6, &set, &none, "pw_set_descs6");
  }

  const pw_node_addr hairpin{.flags = PW_NODE_ADDR_HAIRPIN};
  const pw_node_addr plain{.flags = 0};
  const pw_in6 n1 = in6(kNode6), n2 = in6(kNode6b);
  update(fds.node_addrs6, &n1, &hairpin, "pw_node_addrs6");
  update(fds.node_addrs6, &n2, &plain, "pw_node_addrs6");
  for (const auto& a : {kSvc6A, kSvc6B, kSvc6D}) {
    const pw_in6 k = in6(a);
    const pw_service_addr v{};
    update(fds.service_addrs6, &k, &v, "pw_service_addrs6");
  }
  // Dual-stack backends: the IPv4 entry (state, ifindex, set) is shared, the IPv6 address
  // is beside it; the sets' IPv6 tables name the same members as their IPv4 ones, so they
  // point at the same slots.
  const std::uint32_t be0 = kBeSandbox, be20 = kBeSmallMtu;
  const pw_in6 a0 = in6(kSandbox6), a20 = in6(kSmallMtu6);
  update(fds.backend_addrs6, &be0, &a0, "pw_backend_addrs6");
  update(fds.backend_addrs6, &be20, &a20, "pw_backend_addrs6");
  for (const std::uint32_t set : {0u, 3u}) {
    const std::uint64_t desc = lab.maps().backend_set_descriptor(set);
    update(fds.set_descs6, &set, &desc, "pw_set_descs6");
  }

  const struct {
    const Ipv6Address* addr;
    std::uint16_t port;
    std::uint8_t proto;
    pw_frontend_kind kind;
    pw_frontend value;
  } frontends[] = {
      {&kSvc6A, 80, kTcp, PW_FRONTEND_SERVICE, fe6(kFe6ATcp, 0, kTargetTcp)},
      {&kSvc6A, 53, kUdp, PW_FRONTEND_SERVICE, fe6(kFe6AUdp, 0, kTargetUdp)},
      {&kSvc6B, 80, kTcp, PW_FRONTEND_SERVICE, fe6(kFe6BTcp, 1, kTargetTcp)},
      {&kSvc6B, 53, kUdp, PW_FRONTEND_SERVICE, fe6(kFe6BUdp, 1, kTargetUdp)},
      {nullptr, kNodePortTcp, kTcp, PW_FRONTEND_NODE_PORT, fe6(kFe6NodeTcp, 0, kTargetTcp)},
      {nullptr, kNodePortUdp, kUdp, PW_FRONTEND_NODE_PORT, fe6(kFe6NodeUdp, 0, kTargetUdp)},
      {&kSvc6D, 9000, kUdp, PW_FRONTEND_SERVICE, fe6(kFe6DUdp, 3, 9000)},
  };
  for (const auto& f : frontends) {
    const pw_frontend6_key k = fe6_key(f.addr, f.port, f.proto, f.kind);
    update(fds.frontends6, &k, &f.value, "pw_frontends6");
    set_frontend_gen(lab, f.value.id, kGen6);
  }
}

}  // namespace portway::test::lb
