#include "lb_lab.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include "lb/maglev.h"
#include "flow_hash.h"
#include "lb_lab6.h"
#include "loader/lb_capacities.h"
#include "loader/libbpf_log.h"

namespace portway::test::lb {

std::string mac_text(const MacAddress& m) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

namespace {

std::string dotted(const Ipv4Address& a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
         std::to_string(a[3]);
}

// Test scaffolding only (the product never shells out): iproute2 inside the lab netns. A
// forked child inherits the calling thread's network namespace.
void ip(const std::string& args) {
  const std::string cmd = "ip " + args + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    throw std::runtime_error("lab setup failed: " + cmd);
  }
}

void sysctl_write(const std::string& path, const std::string& value) {
  std::ofstream f(path);
  f << value;
  if (!f) {
    throw std::runtime_error("cannot write " + path);
  }
}

std::uint32_t ifindex_of(const char* name) {
  const unsigned idx = if_nametoindex(name);
  if (idx == 0) {
    throw std::runtime_error(std::string{"no interface "} + name);
  }
  return idx;
}

pw_frontend_key fe_key(const Ipv4Address& addr, std::uint16_t port, std::uint8_t proto) {
  pw_frontend_key k{};
  k.addr = be32(addr);
  k.port = be16(port);
  k.proto = proto;
  k.kind = PW_FRONTEND_SERVICE;
  return k;
}

pw_frontend_key node_key(std::uint16_t port, std::uint8_t proto) {
  pw_frontend_key k{};
  k.port = be16(port);
  k.proto = proto;
  k.kind = PW_FRONTEND_NODE_PORT;
  return k;
}

pw_frontend fe(std::uint32_t id, std::uint32_t set, std::uint16_t target) {
  pw_frontend f{};
  f.id = id;
  f.set_id = set;
  f.target_port = be16(target);
  return f;
}

pw_backend backend(const Ipv4Address& addr, std::uint32_t set, std::uint32_t ifindex) {
  pw_backend b{};
  b.addr = be32(addr);
  b.set_id = set;
  b.ifindex = ifindex;
  b.state = PW_BACKEND_RUNNING;
  return b;
}


}  // namespace

Ipv4Address backend_c_addr(std::uint32_t i) {
  return {198, 18, 128, static_cast<std::uint8_t>(10 + i)};
}
Ipv4Address backend_f_addr(std::uint32_t i) {
  return {198, 18, 128, static_cast<std::uint8_t>(40 + i)};
}

std::uint32_t be32(const Ipv4Address& a) {
  std::uint32_t v = 0;
  std::memcpy(&v, a.data(), sizeof(v));
  return v;
}

std::uint16_t be16(std::uint16_t host) { return htons(host); }

pw_flow_key flow_key(const Ipv4Address& saddr, const Ipv4Address& daddr, std::uint16_t sport,
                     std::uint16_t dport, std::uint8_t proto) {
  pw_flow_key k{};
  k.saddr = be32(saddr);
  k.daddr = be32(daddr);
  k.sport = be16(sport);
  k.dport = be16(dport);
  k.proto = proto;
  return k;
}

std::vector<std::uint32_t> maglev_table(const std::vector<std::uint32_t>& ids,
                                        const std::vector<Ipv4Address>& addrs) {
  std::vector<portway::lb::MaglevBackend> backends;
  for (const auto& a : addrs) {
    backends.push_back({dotted(a)});
  }
  const auto slots = portway::lb::build_maglev_table(backends, kMaglevM);
  std::vector<std::uint32_t> table;
  table.reserve(slots.size());
  for (const auto s : slots) {
    table.push_back(ids.at(s));
  }
  return table;
}

const std::vector<std::uint32_t>& table_c() {
  static const auto t = maglev_table({kBeC0, kBeC0 + 1, kBeC0 + 2, kBeC0 + 3},
                                     {backend_c_addr(0), backend_c_addr(1), backend_c_addr(2),
                                      backend_c_addr(3)});
  return t;
}

const std::vector<std::uint32_t>& table_f() {
  static const auto t = maglev_table({kBeF0, kBeF1}, {backend_f_addr(0), backend_f_addr(1)});
  return t;
}

std::uint32_t predict_pick(const std::vector<std::uint32_t>& table, const Ipv4Address& saddr,
                           const Ipv4Address& daddr, std::uint16_t sport, std::uint16_t dport,
                           std::uint8_t proto, const std::vector<std::uint32_t>& not_running) {
  const std::uint32_t hash = pw_flow_hash(be32(saddr), be32(daddr), be16(sport), be16(dport),
                                          proto, PW_FLOW_HASH_SEED);
  const auto m = static_cast<std::uint32_t>(table.size());
  std::uint32_t slot = pw_reciprocal_scale(hash, m);
  for (std::uint32_t i = 0; i < PW_MAGLEV_PROBES; ++i) {
    const std::uint32_t id = table[slot];
    bool stopped = false;
    for (const auto n : not_running) {
      stopped = stopped || n == id;
    }
    if (!stopped) {
      return id;
    }
    slot = slot + 1 < m ? slot + 1 : 0;
  }
  return PW_NO_ID;
}

LbLab::LbLab() : LbLab(loader::measure_jiffy_clock()) {}

LbLab::LbLab(const std::optional<loader::JiffyClock>& clock) : netns_(std::make_unique<ScopedNetns>()) {
  loader::route_libbpf_logs_to_spdlog();
  ip("link set lo up");
  ip("link add pwup0 address " + mac_text(kNodeMac) + " type veth peer name pwup1");
  ip("link add pwbk0 address " + mac_text(kHostVethMac) + " type veth peer name pwbk1");
  for (const char* dev : {"pwup0", "pwup1", "pwbk0", "pwbk1"}) {
    ip(std::string{"link set "} + dev + " up");
  }
  ip("addr add " + dotted(kNode) + "/24 dev pwup0");
  ip("addr add " + dotted(kNode2) + "/24 dev pwup0");
  ip("route add 198.18.0.0/24 dev pwup0");
  ip("neigh add " + dotted(kClient) + " lladdr " + mac_text(kClientMac) +
     " dev pwup0 nud permanent");
  ip("addr add " + dotted(kHostVethIp) + "/24 dev pwbk0");
  ip("neigh add " + dotted(kSandbox) + " lladdr " + mac_text(kSandboxMac) +
     " dev pwbk0 nud permanent");
  // "lock": forwarding (and bpf_fib_lookup) only honours a route MTU that is locked, unless
  // net.ipv4.ip_forward_use_pmtu is set.
  ip("route add 198.18.129.0/24 dev pwbk0 mtu lock " + std::to_string(kSmallMtu));
  ip("neigh add " + dotted(kSmallMtuBackend) + " lladdr " + mac_text(kSmallMtuMac) +
     " dev pwbk0 nud permanent");
  // Per namespace: this is the lab's own forwarding switch, not the host's.
  sysctl_write("/proc/sys/net/ipv4/conf/all/forwarding", "1");
  lab6_topology();
  host_veth_ifindex_ = ifindex_of("pwbk0");
  uplink_ifindex_ = ifindex_of("pwup0");

  loader::LbCapacities caps;
  caps.frontends = 1024;
  caps.service_addrs = 256;
  caps.node_addrs = 16;
  caps.backends = 1024;
  caps.backend_sets = 64;
  // Small, so that tests which rebuild tables in a loop run out of free slots and go through
  // the grace-period reuse often.
  caps.maglev_slots = 65536;
  caps.flows = 65536;
  caps.fragments = 1024;
  skel_.emplace(loader::LbSkeleton::open_and_load([&](portway_lb& s) {
    loader::apply_capacities(s, caps);
    loader::apply_clock(s, clock);
  }));
  maps_.emplace(loader::lb_map_fds(**skel_));
  configure();
}

LbLab::~LbLab() {
  maps_.reset();
  skel_.reset();
  netns_.reset();
}

void LbLab::set_neighbour(const Ipv4Address& addr, const MacAddress& mac) {
  ip("neigh replace " + dotted(addr) + " lladdr " + mac_text(mac) + " dev pwbk0 nud permanent");
}

loader::LbMapFds LbLab::fds() const { return loader::lb_map_fds(**skel_); }

int LbLab::xdp_fd() const { return bpf_program__fd((*skel_)->progs.pw_xdp_uplink); }
int LbLab::tc_fd() const { return bpf_program__fd((*skel_)->progs.pw_tc_sandbox); }
int LbLab::tc_uplink_fd() const { return bpf_program__fd((*skel_)->progs.pw_tc_uplink); }

loader::TestRunResult LbLab::run_xdp(std::span<const std::uint8_t> frame) const {
  loader::TestRunOptions opts;
  opts.xdp = loader::XdpContext{.ingress_ifindex = uplink_ifindex_};
  return loader::test_run(xdp_fd(), frame, opts);
}

void LbLab::set_xdp_ready(bool ready) {
  pw_interface veth{};
  veth.flags = ready ? PW_IF_XDP_READY : 0;
  maps_->set_interface(host_veth_ifindex_, veth);
}

loader::TestRunResult LbLab::run_tc(std::span<const std::uint8_t> frame) const {
  loader::TestRunOptions opts;
  opts.tc = loader::TcContext{.ifindex = host_veth_ifindex_,
                              .ingress_ifindex = host_veth_ifindex_};
  return loader::test_run(tc_fd(), frame, opts);
}

loader::TestRunResult LbLab::run_tc_uplink(std::span<const std::uint8_t> frame,
                                           std::optional<Gso> gso) const {
  loader::TestRunOptions opts;
  opts.tc = loader::TcContext{.ifindex = uplink_ifindex_, .ingress_ifindex = uplink_ifindex_};
  if (gso) {
    opts.tc->gso_segs = gso->segments;
    opts.tc->gso_size = gso->size;
  }
  return loader::test_run(tc_uplink_fd(), frame, opts);
}

void LbLab::configure() {
  auto& m = *maps_;
  m.clear_conntrack();
  // No prefix filter (every destination goes on to the lookups) and every gen 0, as the
  // frontends below are written with.
  m.set_prefilter(pw_prefilter{});
  std::vector<std::pair<std::uint32_t, std::uint32_t>> gens;
  for (std::uint32_t id = 0; id < kFrontendCount; ++id) gens.emplace_back(id, 0);
  m.set_frontend_gens(gens);
  for (const auto& [k, v] : m.frontends()) {
    (void)m.erase_frontend(k);
  }
  for (const auto a : m.service_addrs()) {
    (void)m.erase_service_addr(a);
  }
  for (const auto& [a, v] : m.node_addrs()) {
    (void)m.erase_node_addr(a);
  }
  for (std::uint32_t id = 0; id < kBackendIdLimit; ++id) {
    m.clear_backend(id);
  }
  for (std::uint32_t set = 0; set < 8; ++set) {
    (void)m.clear_backend_set(set);
  }

  for (const auto& [ifindex, entry] : m.interfaces()) {
    (void)m.erase_interface(ifindex);
  }
  pw_interface uplink{};
  std::memcpy(uplink.mac, kNodeMac.data(), kNodeMac.size());
  uplink.flags = PW_IF_UPLINK;
  m.set_interface(uplink_ifindex_, uplink);
  set_xdp_ready(true);

  m.upsert_node_addr(be32(kNode), pw_node_addr{.flags = PW_NODE_ADDR_HAIRPIN});
  m.upsert_node_addr(be32(kNode2), pw_node_addr{.flags = 0});
  for (const auto& a : {kSvcA, kSvcB, kSvcC, kSvcD, kSvcE, kSvcF}) {
    m.upsert_service_addr(be32(a));
  }

  const std::uint32_t veth = host_veth_ifindex_;
  m.set_backend(kBeSandbox, backend(kSandbox, 0, veth));
  for (std::uint32_t i = 0; i < 4; ++i) {
    m.set_backend(kBeC0 + i, backend(backend_c_addr(i), kSetC, veth));
  }
  m.set_backend(kBeSmallMtu, backend(kSmallMtuBackend, 3, veth));
  m.set_backend(kBeNoNeigh, backend(kNoNeighBackend, 4, veth));
  m.set_backend(kBeF0, backend(backend_f_addr(0), kSetF, veth));
  m.set_backend(kBeF1, backend(backend_f_addr(1), kSetF, veth));

  const std::vector<std::uint32_t> only_sandbox(kMaglevM, kBeSandbox);
  m.install_backend_set(0, only_sandbox);
  m.install_backend_set(1, {});
  m.install_backend_set(kSetC, table_c());
  m.install_backend_set(3, std::vector<std::uint32_t>(kMaglevM, kBeSmallMtu));
  m.install_backend_set(4, std::vector<std::uint32_t>(kMaglevM, kBeNoNeigh));
  m.install_backend_set(kSetF, table_f());

  m.upsert_frontend(fe_key(kSvcA, 80, kTcp), fe(kFeATcp, 0, kTargetTcp));
  m.upsert_frontend(fe_key(kSvcA, 53, kUdp), fe(kFeAUdp, 0, kTargetUdp));
  m.upsert_frontend(fe_key(kSvcB, 80, kTcp), fe(kFeBTcp, 1, kTargetTcp));
  m.upsert_frontend(fe_key(kSvcB, 53, kUdp), fe(kFeBUdp, 1, kTargetUdp));
  m.upsert_frontend(node_key(kNodePortTcp, kTcp), fe(kFeNodeTcp, 0, kTargetTcp));
  m.upsert_frontend(node_key(kNodePortUdp, kUdp), fe(kFeNodeUdp, 0, kTargetUdp));
  m.upsert_frontend(fe_key(kSvcC, 80, kTcp), fe(kFeCTcp, kSetC, kTargetTcp));
  m.upsert_frontend(fe_key(kSvcC, 53, kUdp), fe(kFeCUdp, kSetC, kTargetUdp));
  m.upsert_frontend(fe_key(kSvcD, 9000, kUdp), fe(kFeDUdp, 3, 9000));
  m.upsert_frontend(fe_key(kSvcD, 9000, kTcp), fe(kFeDTcp, 3, 9000));
  m.upsert_frontend(fe_key(kSvcE, 80, kTcp), fe(kFeETcp, 4, kTargetTcp));
  m.upsert_frontend(fe_key(kSvcE, 53, kUdp), fe(kFeEUdp, 4, kTargetUdp));
  m.upsert_frontend(fe_key(kSvcF, 80, kTcp), fe(kFeFTcp, kSetF, kTargetTcp));
  m.upsert_frontend(fe_key(kSvcF, 53, kUdp), fe(kFeFUdp, kSetF, kTargetUdp));
  configure6(*this);
}

}  // namespace portway::test::lb
