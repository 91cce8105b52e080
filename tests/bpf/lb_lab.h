// The load balancer loaded into a private network namespace with a fixed lab topology and a
// standard configuration, for the table-driven fixtures, the mutation run and the benchmark.
//
// Topology (all addresses in 198.18.0.0/15, docs/testing.md):
//   pwup0 (kNodeMac)        uplink, where XDP test runs arrive (its pw_interfaces entry holds
//                           kNodeMac): 198.19.0.1/24, 198.19.0.2/24; client 198.18.0.1 is a
//                           permanent neighbour (kClientMac) via 198.18.0.0/24
//   pwbk0 (kHostVethMac)    host side of "the sandboxes", marked xdp-ready by configure()
//                           (set_xdp_ready(false): the tc hand-off): 198.18.128.254/24;
//                           198.18.128.1 permanent neighbour (kSandboxMac);
//                           198.18.129.0/24 routed with MTU 1000, 198.18.129.1 a neighbour
// Forwarding is on, so bpf_fib_lookup answers as a router would.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "loader/lb_maps.h"
#include "loader/lb_skeleton.h"
#include "loader/prog_test_run.h"
#include "support/netns.h"
#include "support/packet_types.h"

namespace portway::test::lb {

// ---- addresses --------------------------------------------------------------------------
inline constexpr Ipv4Address kClient{198, 18, 0, 1};
inline constexpr Ipv4Address kClient2{198, 18, 0, 2};
inline constexpr Ipv4Address kNode{198, 19, 0, 1};   // node address, PW_NODE_ADDR_HAIRPIN
inline constexpr Ipv4Address kNode2{198, 19, 0, 2};  // second node address
inline constexpr Ipv4Address kSvcA{198, 19, 1, 1};   // one backend (kSandbox), neighbour known
inline constexpr Ipv4Address kSvcB{198, 19, 1, 2};   // declared, no backend
inline constexpr Ipv4Address kSvcC{198, 19, 1, 3};   // four backends (Maglev), no neighbours
inline constexpr Ipv4Address kSvcD{198, 19, 1, 4};   // backend behind an MTU 1000 route
inline constexpr Ipv4Address kSvcE{198, 19, 1, 5};   // one backend without a neighbour entry
inline constexpr Ipv4Address kSvcF{198, 19, 1, 6};   // two backends, for drain/remove
inline constexpr Ipv4Address kElsewhere{198, 19, 200, 1};  // nobody's
inline constexpr Ipv4Address kSandbox{198, 18, 128, 1};    // backend 0 (set 0)
inline constexpr Ipv4Address kNoNeighBackend{198, 18, 128, 2};  // backend 30 (set 4)
inline constexpr Ipv4Address kSmallMtuBackend{198, 18, 129, 1};  // backend 20 (set 3)
inline constexpr Ipv4Address kHostVethIp{198, 18, 128, 254};

inline constexpr MacAddress kHostVethMac{0x02, 0x00, 0x00, 0x00, 0x0b, 0x00};
inline constexpr MacAddress kSandboxMac{0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
inline constexpr MacAddress kSmallMtuMac{0x02, 0x00, 0x00, 0x00, 0x02, 0x01};
inline constexpr std::uint16_t kSmallMtu = 1000;

// ---- frontends (id: address:port/proto -> set, target port) ------------------------------
enum FrontendId : std::uint32_t {
  kFeATcp = 0,     // A:80/tcp    -> set 0, 8080
  kFeAUdp = 1,     // A:53/udp    -> set 0, 5353
  kFeBTcp = 2,     // B:80/tcp    -> set 1 (empty)
  kFeBUdp = 3,     // B:53/udp    -> set 1 (empty)
  kFeNodeTcp = 4,  // node:30080/tcp -> set 0, 8080
  kFeNodeUdp = 5,  // node:30053/udp -> set 0, 5353
  kFeCTcp = 6,     // C:80/tcp    -> set 2, 8080
  kFeCUdp = 7,     // C:53/udp    -> set 2, 5353
  kFeDUdp = 8,     // D:9000/udp  -> set 3, 9000
  kFeDTcp = 9,     // D:9000/tcp  -> set 3, 9000
  kFeETcp = 10,    // E:80/tcp    -> set 4, 8080
  kFeEUdp = 11,    // E:53/udp    -> set 4, 5353
  kFeFTcp = 12,    // F:80/tcp    -> set 5, 8080
  kFeFUdp = 13,    // F:53/udp    -> set 5, 5353
  // IPv6 (lb_lab6.h): pw_frontends6, same id space and counters
  kFe6ATcp = 14,     // A6:80/tcp   -> set 0, 8080
  kFe6AUdp = 15,     // A6:53/udp   -> set 0, 5353
  kFe6BTcp = 16,     // B6:80/tcp   -> set 1 (empty)
  kFe6BUdp = 17,     // B6:53/udp   -> set 1 (empty)
  kFe6NodeTcp = 18,  // node6:30080/tcp -> set 0, 8080
  kFe6NodeUdp = 19,  // node6:30053/udp -> set 0, 5353
  kFe6DUdp = 20,     // D6:9000/udp -> set 3 (backend behind an MTU 1280 route), 9000
  kFrontendCount = 21,
};

inline constexpr std::uint16_t kNodePortTcp = 30080;
inline constexpr std::uint16_t kNodePortUdp = 30053;
inline constexpr std::uint16_t kTargetTcp = 8080;
inline constexpr std::uint16_t kTargetUdp = 5353;

// ---- backends -----------------------------------------------------------------------------
inline constexpr std::uint32_t kBeSandbox = 0;     // kSandbox, set 0
inline constexpr std::uint32_t kBeC0 = 10;         // 198.18.128.10..13, set 2
inline constexpr std::uint32_t kBeSmallMtu = 20;   // set 3
inline constexpr std::uint32_t kBeNoNeigh = 30;    // set 4
inline constexpr std::uint32_t kBeF0 = 40;         // 198.18.128.40, set 5
inline constexpr std::uint32_t kBeF1 = 41;         // 198.18.128.41, set 5
inline constexpr std::uint32_t kBackendIdLimit = 64;  // counters snapshot 0..63

inline constexpr std::uint32_t kSetC = 2;
inline constexpr std::uint32_t kSetF = 5;
inline constexpr std::uint32_t kMaglevM = 251;

[[nodiscard]] Ipv4Address backend_c_addr(std::uint32_t i);  // 198.18.128.(10 + i)
[[nodiscard]] Ipv4Address backend_f_addr(std::uint32_t i);  // 198.18.128.(40 + i)

// The standard Maglev tables (backend ids per slot) of sets 2 and 5, as installed by
// LbLab::configure(); tests predict picks from them.
[[nodiscard]] const std::vector<std::uint32_t>& table_c();
[[nodiscard]] const std::vector<std::uint32_t>& table_f();
// A table for the backends `ids` with addresses `addrs` (same order), size kMaglevM.
[[nodiscard]] std::vector<std::uint32_t> maglev_table(const std::vector<std::uint32_t>& ids,
                                                      const std::vector<Ipv4Address>& addrs);

// The backend a new flow picks, computed in C++ the way lb_abi.h specifies (flow hash,
// reciprocal scale, probing past backends that are not running per `running`).
[[nodiscard]] std::uint32_t predict_pick(const std::vector<std::uint32_t>& table,
                                         const Ipv4Address& saddr, const Ipv4Address& daddr,
                                         std::uint16_t sport, std::uint16_t dport,
                                         std::uint8_t proto,
                                         const std::vector<std::uint32_t>& not_running = {});

// Wire-order values as the C structs hold them.
[[nodiscard]] std::uint32_t be32(const Ipv4Address& a);
[[nodiscard]] std::uint16_t be16(std::uint16_t host);
// "02:00:00:00:00:01", as `ip link` takes it.
[[nodiscard]] std::string mac_text(const MacAddress& m);
[[nodiscard]] pw_flow_key flow_key(const Ipv4Address& saddr, const Ipv4Address& daddr,
                                   std::uint16_t sport, std::uint16_t dport, std::uint8_t proto);

// A GRO-merged skb: `segments` segments of `size` payload bytes each (loader::TcContext).
struct Gso {
  std::uint16_t segments = 0;
  std::uint32_t size = 0;
};

class LbLab {
 public:
  // Enters a new netns (calling thread), builds the topology, loads the object with small
  // capacities and programs the standard configuration. Throws on any failure.
  LbLab();
  // The same with the programs' clock given (lb_clock.h): nullopt leaves them on
  // bpf_ktime_get_coarse_ns. The default constructor measures it, as the node's load does.
  explicit LbLab(const std::optional<loader::JiffyClock>& clock);
  ~LbLab();
  LbLab(const LbLab&) = delete;
  LbLab& operator=(const LbLab&) = delete;

  // Back to the standard configuration: conntrack emptied, backends, sets, frontends and
  // addresses rewritten. Counters are left alone (tests compare deltas).
  void configure();

  [[nodiscard]] loader::LbMaps& maps() { return *maps_; }
  // The clock the loaded programs use (tick 0: the helper).
  [[nodiscard]] loader::JiffyClock clock() const { return loader::clock_of(**skel_); }
  // pwbk0's pw_interfaces entry: PW_IF_XDP_READY (redirect) or not (tc hand-off).
  void set_xdp_ready(bool ready);
  // Replaces the permanent neighbour entry of `addr` on the host-side veth.
  void set_neighbour(const Ipv4Address& addr, const MacAddress& mac);
  // Whether the programs hand frames to tc through XDP metadata (false on a kernel that refuses
  // bpf_xdp_adjust_meta: loader/xdp_features.h).
  [[nodiscard]] bool handoff_by_metadata() const { return (*skel_)->rodata->pw_handoff_by_metadata != 0; }
  [[nodiscard]] int xdp_fd() const;
  [[nodiscard]] int tc_fd() const;
  [[nodiscard]] int tc_uplink_fd() const;
  [[nodiscard]] std::uint32_t host_veth_ifindex() const { return host_veth_ifindex_; }
  [[nodiscard]] std::uint32_t uplink_ifindex() const { return uplink_ifindex_; }
  // Every map fd (the IPv6 maps have no LbMaps accessors; lb_lab6.cc writes them directly).
  [[nodiscard]] loader::LbMapFds fds() const;

  // One BPF_PROG_TEST_RUN (repeat 1). tc runs as if received on the host-side veth.
  [[nodiscard]] loader::TestRunResult run_xdp(std::span<const std::uint8_t> frame) const;
  [[nodiscard]] loader::TestRunResult run_tc(std::span<const std::uint8_t> frame) const;
  // pw_tc_uplink, as on the uplink's tc ingress; `gso` makes the frame a GRO-merged skb.
  [[nodiscard]] loader::TestRunResult run_tc_uplink(std::span<const std::uint8_t> frame,
                                                    std::optional<Gso> gso = std::nullopt) const;

 private:
  std::unique_ptr<ScopedNetns> netns_;
  std::uint32_t host_veth_ifindex_ = 0;
  std::uint32_t uplink_ifindex_ = 0;
  std::optional<loader::LbSkeleton> skel_;
  std::optional<loader::LbMaps> maps_;
};

}  // namespace portway::test::lb
