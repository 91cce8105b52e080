// Per-packet cost of the XDP fast path through BPF_PROG_TEST_RUN (docs/performance.md
// "Targets": against Katran in the same run, and flat within 10% from 10 to 100,000
// frontends). Needs root. Run: sudo build/bench/bench_xdp
//
// Method (docs/performance.md "Targets"): a rewriting program runs on its own output when
// `repeat` > 1, so
//   - established: "ping-pong" frontends. S1:80 -> backend S2:81, and S2:81 -> backend
//     S1:80: every run translates the previous run's output and hits an existing flow. The
//     FIB knows both as neighbours, so each run is the whole hit path: lookups, DNAT with
//     incremental checksums, bpf_fib_lookup, MAC rewrite, TTL - 1, redirect (TTL 255 in,
//     200 runs per call);
//     Both flows come from one client address and port (a DNAT keeps the source), so one of
//     them is in pw_conns and the other in pw_flows (lb_abi.h): this case is two flows'
//     paths, averaged;
//   - BM_EstablishedOneConnection: one client packet to S3:80, replayed on every repeat by
//     bpf/frame_replay.bpf.c (tail call into pw_xdp_uplink), so every run is the hit path of
//     one connection in pw_conns; BM_FloorReplay is the replay with the floor program in its
//     place (repeat 200 both);
//   - new flow: repeat = 1 in a loop, a fresh 5-tuple per call (Maglev pick + one pw_conns
//     insert), timed by the kernel per call; "established/repeat1" is the same loop on an
//     existing flow, the baseline for what repeat = 1 itself adds;
//   - established/repeat1/handoff: the same with the target not xdp-ready (tc hand-off);
//   - miss: a packet to no frontend address, repeat 200 (it is passed on unchanged);
//   - floor: the counting sink (bpf/xdp_sink.bpf.c, one array lookup, XDP_PASS), repeat 200
//     and repeat 1: what BPF_PROG_TEST_RUN itself costs on this machine in the same run, to
//     read the others against.
// Frontends: the argument (10, 1,000, 100,000) in pw_frontends over N/3 service addresses,
// with as many flows preloaded where the programs would put them (pw_conns), so table sizes
// are what they would be at that scale.
// IPv6 (the *6 benchmarks): the same cases over IPv6 (2001:2::/48), in the same object and
// environment: every IPv4 address above has an IPv6 twin (the same backend ids and sets, with
// IPv6 Maglev tables), and N IPv6 frontends and N IPv6 flows sit next to the IPv4 ones.
#include <benchmark/benchmark.h>
#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loader/lb_capacities.h"
#include "loader/lb_maps.h"
#include "loader/lb_skeleton.h"
#include "loader/prog_test_run.h"
#include "loader/tc_filter.h"
#include "netlink/links.h"
#include "loader/skeleton.h"
#include "xdp_sink.skel.h"
#include "support/cpu_pin.h"
#include "support/frame_replay.h"
#include "support/netns.h"
#include "support/packet_builder.h"
#include "packet6.h"

namespace {

using portway::test::Ipv4Address;
using portway::test::MacAddress;
using portway::test::PacketBuilder;
namespace loader = portway::loader;

constexpr Ipv4Address kS1{198, 19, 64, 1};
constexpr Ipv4Address kS2{198, 19, 64, 2};
constexpr Ipv4Address kS3{198, 19, 64, 3};  // 10 backends, for new flows
constexpr Ipv4Address kNowhere{198, 18, 99, 99};
constexpr MacAddress kVethMac{0x02, 0x00, 0x00, 0x00, 0x0b, 0x00};
constexpr std::uint8_t kTcp = 6;
constexpr std::uint32_t kRepeat = 200;

// The IPv6 twins: 2001:2:0:40::1..3 (service addresses), 2001:2:0:80::a.. (backends),
// 2001:2::1 (the client), 2001:2:0:99::99 (nowhere).
using portway::test::Ipv6Address;
using portway::test::lab6;
constexpr Ipv6Address kS1v6 = lab6(0x40, 1);
constexpr Ipv6Address kS2v6 = lab6(0x40, 2);
constexpr Ipv6Address kS3v6 = lab6(0x40, 3);
constexpr Ipv6Address kNowhere6 = lab6(0x99, 0x99);

pw_in6 in6(const Ipv6Address& a) {
  pw_in6 v{};
  std::memcpy(&v, a.data(), sizeof(v));
  return v;
}

std::uint32_t be32(const Ipv4Address& a) {
  std::uint32_t v = 0;
  std::memcpy(&v, a.data(), 4);
  return v;
}

std::uint16_t be16(std::uint16_t v) { return static_cast<std::uint16_t>(v << 8 | v >> 8); }

std::string dotted(const Ipv4Address& a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
         std::to_string(a[3]);
}

void sh(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("bench setup failed: " + cmd);
  }
}

// The LB loaded in a private netns holding `frontends` frontends.
class Env {
 public:
  explicit Env(std::uint32_t frontends) : netns_(std::make_unique<portway::test::ScopedNetns>()) {
    sh("ip link set lo up");
    sh("ip link add pwbk0 address 02:00:00:00:0b:00 type veth peer name pwbk1");
    // The uplink of the live-delivery benchmark (BM_LiveDelivery): frames are injected here.
    sh("ip link add pwup0 address 02:00:00:00:0a:00 type veth peer name pwup1");
    sh("ip link set pwup0 up");
    sh("ip link set pwup1 up");
    sh("ip link set pwbk0 up");
    sh("ip link set pwbk1 up");
    sh("ip addr add 198.19.64.254/24 dev pwbk0");
    sh("ip addr add 198.18.128.254/24 dev pwbk0");
    // S1 and S2 answer at pwbk0's own MAC, the MAC the test runs' uplink (lo) is registered
    // with: a ping-pong frame stays addressed to "the node" at L2 from run to run.
    sh("ip neigh add " + dotted(kS1) + " lladdr 02:00:00:00:0b:00 dev pwbk0 nud permanent");
    sh("ip neigh add " + dotted(kS2) + " lladdr 02:00:00:00:0b:00 dev pwbk0 nud permanent");
    for (int i = 0; i < 10; ++i) {
      sh("ip neigh add 198.18.128." + std::to_string(10 + i) + " lladdr 02:00:00:00:02:" +
         std::to_string(10 + i) + " dev pwbk0 nud permanent");
    }
    sh("sh -c 'echo 1 > /proc/sys/net/ipv4/conf/all/forwarding'");
    sh("sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'");
    sh("ip addr add 2001:2:0:40::fe/64 dev pwbk0 nodad");
    sh("ip addr add 2001:2:0:80::fe/64 dev pwbk0 nodad");
    sh("ip -6 neigh add " + portway::test::ipv6_text(kS1v6) + " lladdr 02:00:00:00:0b:00 dev pwbk0 nud permanent");
    sh("ip -6 neigh add " + portway::test::ipv6_text(kS2v6) + " lladdr 02:00:00:00:0b:00 dev pwbk0 nud permanent");
    for (int i = 0; i < 10; ++i) {
      sh("ip -6 neigh add " + portway::test::ipv6_text(lab6(0x80, static_cast<std::uint16_t>(10 + i))) +
         " lladdr 02:00:00:00:02:" + std::to_string(10 + i) + " dev pwbk0 nud permanent");
    }

    loader::LbCapacities caps;
    caps.frontends = 2 * frontends + 32;  // IPv4 and IPv6 frontends share the id space
    caps.service_addrs = frontends / 3 + 16;
    caps.backends = 64;
    caps.backend_sets = 16;
    caps.maglev_slots = 4096;
    skel_.emplace(loader::open_and_load_lb(caps));
    maps_.emplace(loader::lb_map_fds(**skel_));
    program(frontends);
  }

  [[nodiscard]] int xdp_fd() const { return bpf_program__fd((*skel_)->progs.pw_xdp_uplink); }

  // pwbk0 xdp-ready (frames are redirected) or not (handed off to tc).
  void set_xdp_ready(bool ready) {
    pw_interface veth{};
    veth.flags = ready ? PW_IF_XDP_READY : 0;
    maps_->set_interface(if_nametoindex("pwbk0"), veth);
  }
  [[nodiscard]] loader::LbMaps& maps() { return *maps_; }
  [[nodiscard]] int tc_uplink_fd() const { return bpf_program__fd((*skel_)->progs.pw_tc_uplink); }

 private:
  // A TCP service frontend of either family, its address left for the caller.
  template <typename Key>
  static std::pair<Key, pw_frontend> frontend(std::uint16_t port, std::uint32_t id, std::uint32_t set,
                                              std::uint16_t target) {
    Key k{};
    k.port = be16(port);
    k.proto = kTcp;
    k.kind = PW_FRONTEND_SERVICE;
    pw_frontend f{};
    f.id = id;
    f.set_id = set;
    f.target_port = be16(target);
    return {k, f};
  }

  void add_frontend(const Ipv4Address& addr, std::uint16_t port, std::uint32_t id,
                    std::uint32_t set, std::uint16_t target) {
    auto [k, f] = frontend<pw_frontend_key>(port, id, set, target);
    k.addr = be32(addr);
    maps_->upsert_frontend(k, f);
  }

  void add_frontend6(const Ipv6Address& addr, std::uint16_t port, std::uint32_t id,
                     std::uint32_t set, std::uint16_t target) {
    auto [k, f] = frontend<pw_frontend6_key>(port, id, set, target);
    k.addr = in6(addr);
    maps_->upsert_frontend6(k, f);
  }

  void add_backend(std::uint32_t id, const Ipv4Address& addr, std::uint32_t set) {
    pw_backend b{};
    b.addr = be32(addr);
    b.set_id = set;
    b.state = PW_BACKEND_RUNNING;
    maps_->set_backend(id, b);
  }

  void program(std::uint32_t frontends) {
    auto& m = *maps_;
    // Test runs arrive on lo: it is the uplink, with the MAC the frames are sent to.
    pw_interface uplink{};
    std::memcpy(uplink.mac, kVethMac.data(), kVethMac.size());
    uplink.flags = PW_IF_UPLINK;
    m.set_interface(if_nametoindex("lo"), uplink);
    uplink.mac[4] = 0x0a;  // pwup0: 02:00:00:00:0a:00
    m.set_interface(if_nametoindex("pwup0"), uplink);
    set_xdp_ready(true);
    // Ping-pong: S1:80 -> S2:81 (set 0), S2:81 -> S1:80 (set 1).
    for (const auto& s : {kS1, kS2, kS3}) {
      m.upsert_service_addr(be32(s));
    }
    add_backend(0, kS2, 0);
    add_backend(1, kS1, 1);
    m.install_backend_set(0, std::vector<std::uint32_t>(251, 0));
    m.install_backend_set(1, std::vector<std::uint32_t>(251, 1));
    add_frontend(kS1, 80, 0, 0, 81);
    add_frontend(kS2, 81, 1, 1, 80);
    // New flows: S3:80 over 10 backends, Maglev table of 251 slots.
    std::vector<std::uint32_t> table(251);
    for (std::uint32_t i = 0; i < 10; ++i) {
      add_backend(10 + i, {198, 18, 128, static_cast<std::uint8_t>(10 + i)}, 2);
    }
    for (std::uint32_t i = 0; i < table.size(); ++i) {
      table[i] = 10 + (i * 7) % 10;
    }
    m.install_backend_set(2, table);
    add_frontend(kS3, 80, 2, 2, 8080);
    // The IPv6 twins: the same backends and sets (members with both addresses), the same
    // tables in the IPv6 descriptors, frontend ids after the IPv4 ones.
    for (const auto& s6 : {kS1v6, kS2v6, kS3v6}) {
      m.upsert_service_addr6(in6(s6));
    }
    std::vector<std::pair<std::uint32_t, pw_in6>> addrs6{{0, in6(kS2v6)}, {1, in6(kS1v6)}};
    for (std::uint32_t i = 0; i < 10; ++i) {
      addrs6.emplace_back(10 + i, in6(lab6(0x80, static_cast<std::uint16_t>(10 + i))));
    }
    m.set_backend_addrs6(addrs6);
    m.install_backend_set(0, std::vector<std::uint32_t>(251, 0), loader::SetFamily::ipv6);
    m.install_backend_set(1, std::vector<std::uint32_t>(251, 1), loader::SetFamily::ipv6);
    m.install_backend_set(2, table, loader::SetFamily::ipv6);
    const std::uint32_t id6 = frontends + 16;
    add_frontend6(kS1v6, 80, id6 + 0, 0, 81);
    add_frontend6(kS2v6, 81, id6 + 1, 1, 80);
    add_frontend6(kS3v6, 80, id6 + 2, 2, 8080);
    // Fillers up to the requested count: three ports per service address.
    for (std::uint32_t i = 3; i < frontends; ++i) {
      const std::uint32_t svc = i / 3;
      const Ipv4Address a{198, 19, static_cast<std::uint8_t>(128 + (svc >> 8) % 128),
                          static_cast<std::uint8_t>(svc & 0xff)};
      if (i % 3 == 0) {
        m.upsert_service_addr(be32(a));
      }
      add_frontend(a, static_cast<std::uint16_t>(1000 + i % 3), i, 2, 8080);
      const Ipv6Address a6 = lab6(static_cast<std::uint16_t>(0x100 + (svc >> 16)), static_cast<std::uint16_t>(svc));
      if (i % 3 == 0) {
        m.upsert_service_addr6(in6(a6));
      }
      add_frontend6(a6, static_cast<std::uint16_t>(1000 + i % 3), id6 + i, 2, 8080);
    }
    // As many established flows per family as frontends (other clients), placed as the
    // programs would place them (pw_conns: each client port has one flow).
    m.upsert_flows(preload<pw_flow_key, pw_flow>(frontends, 2, [](pw_flow_key& k, pw_flow& f, std::uint32_t i) {
      k.saddr = be32({198, 18, static_cast<std::uint8_t>(1 + (i >> 16)), static_cast<std::uint8_t>(i >> 8)});
      k.daddr = be32(kS3);
      f.backend_addr = be32({198, 18, 128, 10});
    }));
    m.upsert_flows6(preload<pw_flow6_key, pw_flow6>(frontends, id6 + 2, [](pw_flow6_key& k, pw_flow6& f, std::uint32_t i) {
      k.saddr = in6(lab6(static_cast<std::uint16_t>(0x200 + (i >> 16)), static_cast<std::uint16_t>(i)));
      k.daddr = in6(kS3v6);
      f.backend_addr = in6(lab6(0x80, 10));
    }));
  }

  // `n` flows of client i (addresses set by `addrs`) on TCP port 80 to backend 10:8080.
  template <typename Key, typename Flow, typename Addrs>
  static std::vector<std::pair<Key, Flow>> preload(std::uint32_t n, std::uint32_t frontend_id, Addrs&& addrs) {
    std::vector<std::pair<Key, Flow>> flows;
    flows.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      Key k{};
      Flow f{};
      addrs(k, f, i);
      k.sport = be16(static_cast<std::uint16_t>(i));
      k.dport = be16(80);
      k.proto = kTcp;
      f.backend_id = 10;
      f.target_port = be16(8080);
      f.frontend_id = frontend_id;
      flows.emplace_back(k, f);
    }
    return flows;
  }

  std::unique_ptr<portway::test::ScopedNetns> netns_;
  std::optional<loader::LbSkeleton> skel_;
  std::optional<loader::LbMaps> maps_;
};

// One environment at a time (each holds a netns and a loaded object), rebuilt when the
// frontend count changes.
Env& env_for(std::uint32_t frontends) {
  static std::unique_ptr<Env> env;
  static std::uint32_t current = 0;
  if (!env || current != frontends) {
    env.reset();
    env = std::make_unique<Env>(frontends);
    current = frontends;
  }
  return *env;
}

PacketBuilder client_to(const Ipv4Address& dst, std::uint16_t dport) {
  return PacketBuilder{}
      .src_ip({198, 18, 0, 1})
      .dst_ip(dst)
      .src_port(40000)
      .dst_port(dport)
      .dst_mac(kVethMac)
      .ttl(255)
      .tcp_flags(portway::test::tcp_flags::kAck)
      .payload(std::vector<std::uint8_t>(18, 0x61));  // 64-byte frame with the FCS
}

// The IPv6 twin of client_to: 2001:2::1 port 40000, the same TCP ACK and 18-byte payload.
portway::test::Packet6 client6_to(const Ipv6Address& dst, std::uint16_t dport) {
  return portway::test::Packet6{}
      .src(lab6(0, 1))
      .dst(dst)
      .src_port(40000)
      .dst_port(dport)
      .dst_mac(kVethMac)
      .hop_limit(255)
      .tcp_flags(portway::test::tcp_flags::kAck)
      .payload(std::vector<std::uint8_t>(18, 0x61));
}

bool needs_root(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root (CAP_BPF, CAP_NET_ADMIN)");
    return true;
  }
  return false;
}

PORTWAY_SKELETON_TRAITS(XdpSinkTraits, xdp_sink);

// The measured loop of every benchmark: one test run of `frame` (`repeat` runs in the kernel)
// per iteration, with the kernel's time as the iteration time; prepare(frame) may edit the
// frame before each call. Reports ns per packet and the last verdict.
template <typename Prepare>
void time_test_runs(benchmark::State& state, int prog_fd, std::vector<std::uint8_t> frame,
                    std::uint32_t repeat, Prepare&& prepare) {
  double total = 0;
  std::uint64_t calls = 0;
  std::uint32_t verdict = 0;
  for (auto _ : state) {
    prepare(frame);
    const auto r = loader::test_run(prog_fd, frame, {.repeat = repeat});
    state.SetIterationTime(r.duration_ns * 1e-9);
    total += r.duration_ns;
    ++calls;
    verdict = r.retval;
  }
  state.counters["ns_per_packet"] = calls ? total / static_cast<double>(calls) : 0;
  state.counters["verdict"] = verdict;
}

void time_test_runs(benchmark::State& state, int prog_fd, std::vector<std::uint8_t> frame,
                    std::uint32_t repeat) {
  time_test_runs(state, prog_fd, std::move(frame), repeat, [](std::vector<std::uint8_t>&) {});
}

// The cases, one body per case for both families: `frame` is the client frame of that case.

// Established, ping-pong (frame to S1:80): the first run creates both flows.
void established(benchmark::State& state, const std::vector<std::uint8_t>& frame) {
  if (needs_root(state)) {
    return;
  }
  const portway::test::ScopedCpuPin pin(portway::test::allowed_cpus().front());
  Env& env = env_for(static_cast<std::uint32_t>(state.range(0)));
  (void)loader::test_run(env.xdp_fd(), frame, {.repeat = 2});
  time_test_runs(state, env.xdp_fd(), frame, kRepeat);
}

// Established, one connection (frame to S3:80), replayed on every repeat: the first run
// creates the flow; `floor` puts the floor program in the connection's place.
void one_connection(benchmark::State& state, const std::vector<std::uint8_t>& frame, bool floor = false) {
  if (needs_root(state)) {
    return;
  }
  const portway::test::ScopedCpuPin pin(portway::test::allowed_cpus().front());
  Env& env = env_for(static_cast<std::uint32_t>(state.range(0)));
  (void)loader::test_run(env.xdp_fd(), frame);
  portway::test::FrameReplay replay(frame);
  std::optional<loader::Skeleton<XdpSinkTraits>> sink;
  if (floor) {
    sink.emplace(loader::Skeleton<XdpSinkTraits>::open_and_load(
        [](xdp_sink& s) { s.rodata->sink_verdict = XDP_PASS; }));
    replay.aim(bpf_program__fd((*sink)->progs.xdp_sink));
  } else {
    replay.aim(env.xdp_fd());
  }
  time_test_runs(state, replay.fd(), frame, kRepeat);
}

// Established, repeat = 1 (frame to S3:80); `ready` false: pwbk0 not xdp-ready (tc hand-off).
void established_repeat1(benchmark::State& state, const std::vector<std::uint8_t>& frame,
                         bool ready = true) {
  if (needs_root(state)) {
    return;
  }
  const portway::test::ScopedCpuPin pin(portway::test::allowed_cpus().front());
  Env& env = env_for(static_cast<std::uint32_t>(state.range(0)));
  env.set_xdp_ready(ready);
  (void)loader::test_run(env.xdp_fd(), frame);
  time_test_runs(state, env.xdp_fd(), frame, 1);
  env.set_xdp_ready(true);
}

// New flows: `fresh(frame, n)` makes the n-th 5-tuple nobody used before (the checksums go
// stale, which the program neither checks nor needs); `frontend` is S3:80's id.
template <typename Fresh>
void new_flow(benchmark::State& state, const std::vector<std::uint8_t>& syn, std::uint32_t frontend,
              Fresh&& fresh) {
  if (needs_root(state)) {
    return;
  }
  const portway::test::ScopedCpuPin pin(portway::test::allowed_cpus().front());
  Env& env = env_for(static_cast<std::uint32_t>(state.range(0)));
  static std::uint32_t next = 0;  // one per family (each instantiation): never reused in a run
  time_test_runs(state, env.xdp_fd(), syn, 1, [&](std::vector<std::uint8_t>& frame) { fresh(frame, next++); });
  const auto t = env.maps().frontend_traffic(frontend);
  state.counters["new_flows_total"] = static_cast<double>(t.new_flows);
}

void miss(benchmark::State& state, const std::vector<std::uint8_t>& frame) {
  if (needs_root(state)) {
    return;
  }
  const portway::test::ScopedCpuPin pin(portway::test::allowed_cpus().front());
  Env& env = env_for(static_cast<std::uint32_t>(state.range(0)));
  time_test_runs(state, env.xdp_fd(), frame, kRepeat);
}

void BM_Established(benchmark::State& state) { established(state, client_to(kS1, 80).tcp()); }
void BM_EstablishedRepeat1(benchmark::State& state) { established_repeat1(state, client_to(kS3, 80).tcp()); }
void BM_EstablishedOneConnection(benchmark::State& state) { one_connection(state, client_to(kS3, 80).tcp()); }
void BM_FloorReplay(benchmark::State& state) { one_connection(state, client_to(kS3, 80).tcp(), true); }

// The same established flow delivered through the tc hand-off (pwbk0 not xdp-ready): what the
// XDP program adds for it (metadata instead of a redirect). The tc program's own run and the
// skb it redirects are outside a test run: see docs/performance.md for the live figure.
void BM_EstablishedRepeat1Handoff(benchmark::State& state) {
  established_repeat1(state, client_to(kS3, 80).tcp(), false);
}

void BM_NewFlow(benchmark::State& state) {
  new_flow(state, client_to(kS3, 80).tcp_flags(portway::test::tcp_flags::kSyn).tcp(), 2,
           [](std::vector<std::uint8_t>& frame, std::uint32_t n) {
             // 198.(64+)...: no overlap
             frame[26 + 1] = static_cast<std::uint8_t>(64 + (n >> 24));
             frame[26 + 2] = static_cast<std::uint8_t>(n >> 16);
             frame[26 + 3] = static_cast<std::uint8_t>(n >> 8);
             frame[34] = static_cast<std::uint8_t>(1 + (n & 0x7f));
             frame[35] = static_cast<std::uint8_t>(n);
           });
}

void BM_Miss(benchmark::State& state) { miss(state, client_to(kNowhere, 80).tcp()); }

void BM_Established6(benchmark::State& state) { established(state, client6_to(kS1v6, 80).tcp()); }
void BM_EstablishedRepeat1_6(benchmark::State& state) { established_repeat1(state, client6_to(kS3v6, 80).tcp()); }
void BM_EstablishedOneConnection6(benchmark::State& state) { one_connection(state, client6_to(kS3v6, 80).tcp()); }

void BM_NewFlow6(benchmark::State& state) {
  constexpr std::size_t kSrc = 14 + 8;  // Ethernet, then the IPv6 header's source address
  constexpr std::size_t kSport = 14 + 40;
  new_flow(state, client6_to(kS3v6, 80).tcp_flags(portway::test::tcp_flags::kSyn).tcp(),
           static_cast<std::uint32_t>(state.range(0)) + 16 + 2,  // Env's id6 + 2
           [](std::vector<std::uint8_t>& frame, std::uint32_t n) {
             // 2001:2:0:64::<n>: no overlap with the preloaded flows
             frame[kSrc + 7] = 0x64;
             frame[kSrc + 12] = static_cast<std::uint8_t>(n >> 24);
             frame[kSrc + 13] = static_cast<std::uint8_t>(n >> 16);
             frame[kSrc + 14] = static_cast<std::uint8_t>(n >> 8);
             frame[kSport] = static_cast<std::uint8_t>(1 + (n & 0x7f));
             frame[kSport + 1] = static_cast<std::uint8_t>(n);
           });
}

void BM_Miss6(benchmark::State& state) { miss(state, client6_to(kNowhere6, 80).tcp()); }

// Live delivery (BPF_F_TEST_XDP_LIVE_FRAMES): the program runs on `kLiveFrames` copies of an
// established client frame arriving on pwup0, and the kernel carries out each verdict (the
// redirect into pwbk0 and its flush, or the skb built for XDP_PASS, the stack's receive path
// up to tc ingress, pw_tc_uplink and its redirect into pwbk0). The kernel's time per frame
// covers all of that; the sandbox end's own receive (pwbk1's NAPI or backlog) runs later in a
// softirq on both paths and is not in it. Arg 1: pwbk0 xdp-ready and GRO on its peer
// (native redirect); arg 0: veth defaults (tc hand-off).
// One batch (the kernel's default of 64) per call: larger repeats processed only their first
// batch here (the counters below show what ran).
constexpr std::uint32_t kLiveFrames = 64;

void BM_LiveDelivery(benchmark::State& state) {
  if (needs_root(state)) {
    return;
  }
  const portway::test::ScopedCpuPin pin(portway::test::allowed_cpus().front());
  Env& env = env_for(10);
  const bool redirect = state.range(0) != 0;
  portway::netlink::set_gro("pwbk1", redirect);
  env.set_xdp_ready(redirect);
  const int up = static_cast<int>(if_nametoindex("pwup0"));
  loader::attach_tc(up, loader::TcDirection::ingress, env.tc_uplink_fd());
  const auto frame = client_to(kS3, 80).dst_mac({0x02, 0, 0, 0, 0x0a, 0}).tcp();
  xdp_md ctx{};
  ctx.data_end = static_cast<std::uint32_t>(frame.size());  // the kernel wants the frame's size here
  ctx.ingress_ifindex = static_cast<std::uint32_t>(up);
  const auto events_before = env.maps().all_events();
  double total = 0;
  std::uint64_t calls = 0;
  for (auto _ : state) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = kLiveFrames,
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    if (bpf_prog_test_run_opts(env.xdp_fd(), &opts) != 0) {
      state.SkipWithError(("live test run refused: " + std::string(std::strerror(errno))).c_str());
      break;
    }
    state.SetIterationTime(opts.duration * 1e-9 * kLiveFrames);
    total += opts.duration;
    ++calls;
  }
  const auto events = env.maps().all_events();
  const auto moved = [&](std::uint32_t e) { return static_cast<double>(events[e] - events_before[e]); };
  state.counters["ns_per_packet"] = calls ? total / static_cast<double>(calls) : 0;
  state.counters["redirected"] = moved(PW_EV_XDP_REDIRECT);
  state.counters["handed_off"] = moved(PW_EV_XDP_TC_HANDOFF);
  state.counters["tc_delivered"] = moved(PW_EV_TC_HANDOFF_DELIVERED);
  loader::detach_tc(up, loader::TcDirection::ingress, true);
  env.set_xdp_ready(true);
  portway::netlink::set_gro("pwbk1", false);
}

void BM_Floor(benchmark::State& state) {
  if (needs_root(state)) {
    return;
  }
  const portway::test::ScopedCpuPin pin(portway::test::allowed_cpus().front());
  auto sink = loader::Skeleton<XdpSinkTraits>::open_and_load(
      [](xdp_sink& s) { s.rodata->sink_verdict = XDP_PASS; });
  const int fd = bpf_program__fd(sink->progs.xdp_sink);
  time_test_runs(state, fd, client_to(kS1, 80).tcp(), static_cast<std::uint32_t>(state.range(0)));
}

// Fixed iteration counts: with manual (kernel-measured) time, Google Benchmark would iterate
// until that time adds up to its minimum, while each call costs far more wall time than it
// reports (a test run with repeat > 1 swaps the program into the XDP dispatcher and back,
// each an RCU grace period). 300 x 200 = 60,000 packets for the repeat benchmarks,
// 100,000 single calls for the others.
#define PW_FRONTEND_COUNTS Arg(10)->Arg(1000)->Arg(100000)
BENCHMARK(BM_Established)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(300);
BENCHMARK(BM_EstablishedRepeat1)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(100000);
BENCHMARK(BM_EstablishedOneConnection)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(300);
BENCHMARK(BM_EstablishedRepeat1Handoff)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(100000);
BENCHMARK(BM_NewFlow)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(100000);
BENCHMARK(BM_Miss)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(300);
BENCHMARK(BM_Established6)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(300);
BENCHMARK(BM_EstablishedRepeat1_6)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(100000);
BENCHMARK(BM_EstablishedOneConnection6)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(300);
BENCHMARK(BM_NewFlow6)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(100000);
BENCHMARK(BM_Miss6)->PW_FRONTEND_COUNTS->UseManualTime()->Iterations(300);
BENCHMARK(BM_LiveDelivery)->Arg(1)->Arg(0)->UseManualTime()->Iterations(3000);
BENCHMARK(BM_Floor)->Arg(kRepeat)->UseManualTime()->Iterations(300);
BENCHMARK(BM_Floor)->Arg(1)->UseManualTime()->Iterations(100000);
BENCHMARK(BM_FloorReplay)->Arg(10)->UseManualTime()->Iterations(300);

}  // namespace

BENCHMARK_MAIN();
