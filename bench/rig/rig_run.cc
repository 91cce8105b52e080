#include "rig/rig_run.h"

#include <net/if.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "agent/node_dataplane.h"
#include "lab/cgroup_dir.h"
#include "lab/topology.h"
#include "loader/xdp_features.h"
#include "netlink/links.h"
#include "pktgen/cpus.h"
#include "pktgen/generator.h"
#include "pktgen/netns_enter.h"
#include "pktgen/sink.h"
#include "portway/lb_abi.h"
#include "rig/conntrack_flush.h"
#include "rig/rig_node.h"
#include "state/dataplane_state.h"

namespace portway::rig {
namespace {

namespace fs = std::filesystem;
using pktgen::NetnsEnter;

// The variants that attach the rig's own programs to the uplink.
constexpr std::array kNodeProgramVariants{"xdp_drop", "redirect", "tc_redirect", "tc_redirect_peer"};

constexpr net::Ipv4 kServiceAddress{0xC613000Au};  // 198.19.0.10, in lab::kLabServiceCidr
constexpr std::uint16_t kServicePort = 9000;
constexpr net::Ipv4 kNewFlowSources{0xC6124000u};  // 198.18.64.0/18: 16,384 sources
constexpr std::uint32_t kNewFlowSourceCount = 16384;
const net::Ipv6 kServiceAddress6{{0x20, 0x01, 0x00, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}};  // 2001:2:1::10
const net::Ipv6 kNewFlowSources6{{0x20, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x64}};  // 2001:2:0:64::/64

// Removes the namespaces of the plan when it goes, whatever exists by then.
struct TopologyGuard {
  lab::TopologyPlan plan;
  ~TopologyGuard() {
    try {
      lab::destroy_topology(plan);
    } catch (...) {  // best effort on the way out; the namespaces are named after the prefix
    }
  }
};

struct PinFolderGuard {
  std::string dir;
  ~PinFolderGuard() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void quiet_ipv6(const std::string& netns) {
  // No router solicitations or MLD reports from the links: the sinks count every frame. The
  // generator writes its IPv6 frames itself and the sinks count before any stack, so only the
  // node needs IPv6 (it forwards, and a router sends no solicitations).
  const NetnsEnter in(netns);
  netlink::write_sysctl("net.ipv6.conf.all.disable_ipv6", "1");
  netlink::write_sysctl("net.ipv6.conf.default.disable_ipv6", "1");
}

config::NodeSettings node_settings(const RigOptions& o, const lab::Topology& t) {
  config::NodeSettings s;
  s.uplinks = {t.uplink};
  s.node_addresses = {net::to_string(t.node_address)};
  s.sandbox_interfaces = {"sb*"};
  s.node_addresses.push_back(net::to_string(t.node_address6));
  s.service_cidr = lab::kLabServiceCidr;
  s.service_cidr6 = lab::kLabServiceCidr6;
  s.bpffs_dir = "/sys/fs/bpf/portway-" + o.prefix;
  s.cgroup = lab::cgroup_path_for(o.prefix);
  s.maps.frontends = 64;
  s.maps.backends = 64;
  s.maps.backend_sets = 16;
  s.maps.conntrack = o.conntrack;
  s.maps.maglev_slots = 1u << 16;
  return s;
}

state::DataplaneState service_state(const lab::Topology& t) {
  state::BackendSet set{"rig", {}};
  for (const auto& sb : t.sandboxes) set.members.push_back({sb.address, sb.address6, state::MemberState::running});
  state::Frontend f{{kServiceAddress, kServicePort, config::Protocol::udp}, kServicePort, "rig", "udp"};
  state::Frontend f6{{kServiceAddress6, kServicePort, config::Protocol::udp}, kServicePort, "rig", "udp"};
  return state::DataplaneState::from_parts({f, f6}, {}, {set});
}

class Rig {
 public:
  Rig(const RigOptions& o, const std::function<void(const std::string&)>& log)
      : o_(o), log_(log), topo_guard_{{o.prefix, 2}}, pins_{"/sys/fs/bpf/portway-" + o.prefix} {
    if (!node_settings(o, lab::plan_topology({o.prefix, 2})).cgroup.empty())
      cgroup_.emplace(lab::cgroup_path_for(o.prefix));
    topo_ = lab::build_topology({o.prefix, 2});
    quiet_ipv6(topo_.client_netns);
    std::vector<pktgen::Mac> sink_macs;
    for (const auto& sb : topo_.sandboxes) {
      quiet_ipv6(sb.netns);
      const NetnsEnter in(sb.netns);
      sink_macs.push_back(netlink::mac_address("eth0"));
      if (o.native_sinks)
        sinks_.push_back(std::make_unique<pktgen::Sink>(if_nametoindex("eth0"), pktgen::SinkOptions{.latency = false}));
      else
        tc_sinks_.push_back(programs_.attach_sink(if_nametoindex("eth0")));
    }
    pktgen::Mac uplink_mac{}, client_mac{};
    {
      const NetnsEnter in(topo_.node_netns);
      // The sinks drop ARP like everything else: the node learns their MACs here instead.
      for (std::size_t i = 0; i < topo_.sandboxes.size(); ++i) {
        netlink::add_permanent_neighbour(topo_.sandboxes[i].host_link, topo_.sandboxes[i].address, sink_macs[i]);
        netlink::add_permanent_neighbour(topo_.sandboxes[i].host_link, topo_.sandboxes[i].address6, sink_macs[i]);
      }
      uplink_mac = netlink::mac_address(topo_.uplink);
      uplink_ = if_nametoindex(topo_.uplink.c_str());
      programs_.set_sink_ports(if_nametoindex(topo_.sandboxes[0].host_link.c_str()),
                               if_nametoindex(topo_.sandboxes[1].host_link.c_str()));
      settings_ = node_settings(o, topo_);
      node_.emplace(settings_, config::DataplaneChoice::xdp);
    }
    {
      const NetnsEnter in(topo_.client_netns);
      client_mac = netlink::mac_address("eth0");
      client_ifindex_ = if_nametoindex("eth0");
    }
    pktgen::FrameSpec spec;
    spec.src_mac = client_mac;
    spec.dst_mac = uplink_mac;
    spec.src_port = 1024;
    spec.dst_port = kServicePort;
    spec.frame_size = o.frame_size;
    // No send stamp: the rig reads no latency, and the stamp (a clock read and 16 more bytes
    // of checksum per frame) would fit 64-byte IPv4 frames but not IPv6 ones.
    spec.stamp = false;
    // Per family: `flows` flows from the client, and a new 5-tuple per frame from `fresh`.
    using Address = decltype(spec.src);
    const auto generators = [&](Address client, Address dst, Address fresh,
                                std::optional<pktgen::Generator>& established,
                                std::optional<pktgen::Generator>& new_flows) {
      spec.src = client;
      spec.src_count = 1;
      spec.src_port_count = o.flows;
      spec.dst = dst;
      spec.new_flow_per_frame = false;
      established.emplace(spec);
      spec.src = fresh;
      spec.src_count = kNewFlowSourceCount;
      spec.src_port_count = 65535 - 1024 + 1;
      spec.new_flow_per_frame = true;
      new_flows.emplace(spec);
    };
    generators(topo_.client_address, kServiceAddress, kNewFlowSources, established_, new_flows_);
    generators(topo_.client_address6, kServiceAddress6, kNewFlowSources6, established6_, new_flows6_);
    cpu_ = o.cpu >= 0 ? o.cpu : pktgen::allowed_cpus().at(0);
    // Both engines by default make XDP frames, which is what a NIC's driver hands XDP; the
    // packet socket's skbs only when asked for.
    engine_ = o.engine != pktgen::Engine::automatic ? o.engine
              : loader::xdp_live_frames_supported() ? pktgen::Engine::live_frames
                                                    : pktgen::Engine::xdp_loop;
  }

  ~Rig() {
    // Attachments and the dataplane first, in the namespaces they belong to; the namespaces,
    // the pins and the cgroup follow through their guards.
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      try {
        const NetnsEnter in(topo_.sandboxes[i].netns);
        sinks_[i].reset();
      } catch (...) {
      }
    }
    for (std::size_t i = 0; i < tc_sinks_.size(); ++i) {
      try {
        const NetnsEnter in(topo_.sandboxes[i].netns);
        tc_sinks_[i].reset();
      } catch (...) {
      }
    }
    try {
      const NetnsEnter in(topo_.node_netns);
      node_.reset();
    } catch (...) {
    }
  }

  int cpu() const { return cpu_; }
  pktgen::Engine engine() const { return engine_; }

  // `last`: no round follows, whose own node programs would need the uplink free.
  void round(RigResult& result, bool last) {
    {
      const NetnsEnter in(topo_.node_netns);
      auto drop = programs_.attach(NodeProgram::drop, uplink_);
      take(result, "xdp_drop", *established_, true);
    }
    {
      const NetnsEnter in(topo_.node_netns);
      auto redirect = programs_.attach(NodeProgram::redirect, uplink_);
      take(result, "redirect", *established_, false);
    }
    for (const auto& [name, tc] : {std::pair{"tc_redirect", TcProgram::redirect},
                                   std::pair{"tc_redirect_peer", TcProgram::redirect_peer}}) {
      // Before the fast path's sync: the rig's filter takes portway's tc identity.
      const NetnsEnter in(topo_.node_netns);
      auto pass = programs_.attach(NodeProgram::pass, uplink_);
      auto redirect = programs_.attach(tc, uplink_);
      take(result, name, *established_, false);
    }
    // A dataplane is set up only for variants that measure it, and the fast path is switched
    // to nftables only for nftables variants or to free the uplink for the next round's node
    // programs (XDP takes one program): the switch carries every connection the fast path's
    // tables hold into conntrack, which takes seconds after an all-new fill of a large
    // --conntrack (docs/operations.md, "Switching the dataplane").
    const bool node_programs_next = !last && std::any_of(kNodeProgramVariants.begin(), kNodeProgramVariants.end(),
                                                         [&](const char* v) { return wanted(v); });
    if (any_wanted("portway_xdp")) {
      sync(config::DataplaneChoice::xdp);
      warm_up(*established_);
      take(result, "portway_xdp_established", *established_, false);
      take_new(result, "portway_xdp_new", *new_flows_);
      warm_up(*established6_);
      take(result, "portway_xdp6_established", *established6_, false);
      take_new(result, "portway_xdp6_new", *new_flows6_);
    }
    if (!any_wanted("portway_nft") && node_programs_next && any_wanted("portway_xdp")) sync(config::DataplaneChoice::nft);
    if (any_wanted("portway_nft")) {
      sync(config::DataplaneChoice::nft);
      const NetnsEnter in(topo_.node_netns);
      // The nftables dataplane has no XDP program on the uplink; the XDP frames of the
      // live-frames and XDP-loop generators need one there to be taken (docs/performance.md
      // "Packet rig"). The packet socket's frames come as a host's do, and the uplink stays as
      // nftables leaves it.
      std::optional<loader::XdpAttachment> pass;
      if (engine_ != pktgen::Engine::packet_socket) pass.emplace(programs_.attach(NodeProgram::pass, uplink_));
      // Each established measurement from a table holding only its own flows, not the one
      // the previous all-new variant filled (conntrack_flush.h).
      flush_conntrack();
      warm_up(*established_);
      take(result, "portway_nft_established", *established_, false);
      take_new(result, "portway_nft_new", *new_flows_);
      flush_conntrack();
      warm_up(*established6_);
      take(result, "portway_nft6_established", *established6_, false);
      take_new(result, "portway_nft6_new", *new_flows6_);
    }
  }

 private:
  void sync(config::DataplaneChoice choice) {
    const NetnsEnter in(topo_.node_netns);
    node_->update_settings(settings_, choice);
    node_->sync(service_state(topo_), ++generation_);
  }

  pktgen::SendPlan plan(double seconds) const {
    pktgen::SendPlan p;
    p.ifindex = client_ifindex_;
    p.cpus = {cpu_};
    p.engine = engine_;
    p.duration = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
    return p;
  }

  // Before a new-flow variant: 1.25x the larger table's capacity in new flows at full rate
  // (bounded by 10 s), so that the measurement sees the steady state of a flood, every insert
  // evicting, in the first round as in the last, on both dataplanes. Returns the frames sent.
  std::uint64_t fill(pktgen::Generator& new_flows) {
    pktgen::SendPlan p = plan(10.0);
    p.count = fill_frames();
    const NetnsEnter in(topo_.client_netns);
    const pktgen::SendResult sent = new_flows.send(p);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return sent.sent;
  }

  // 1.25x the larger of the fast path's ways and the node's nf_conntrack_max. Read each time:
  // conntrack may be loaded only once the nftables dataplane runs.
  std::uint64_t fill_frames() const {
    const std::uint64_t ways = std::uint64_t{PW_CONN_SETS_FOR(settings_.maps.conntrack)} * PW_CONN_WAYS;
    const NetnsEnter in(topo_.node_netns);
    return std::max(ways, conntrack_max()) * 5 / 4;
  }

  void warm_up(pktgen::Generator& established) {
    const NetnsEnter in(topo_.client_netns);
    established.send(plan(o_.warmup_seconds));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  std::uint64_t delivered() const {
    if (!o_.native_sinks) return programs_.sunk();
    std::uint64_t n = 0;
    for (const auto& s : sinks_) n += s->packets();
    return n;
  }

  std::uint64_t uplink_rx_dropped() const {
    const NetnsEnter in(topo_.node_netns);
    return netlink::link_drops(topo_.uplink).rx;
  }

  Measurement measure(pktgen::Generator& gen, bool at_node) {
    const std::uint64_t before = at_node ? programs_.seen() : delivered();
    const std::uint64_t dropped_before = uplink_rx_dropped();
    pktgen::SendResult sent;
    {
      const NetnsEnter in(topo_.client_netns);
      sent = gen.send(plan(o_.seconds));
    }
    // Frames still in a ring or a backlog when the generator returned.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Measurement m;
    m.offered = sent.sent;
    m.delivered = (at_node ? programs_.seen() : delivered()) - before;
    m.loss = static_cast<std::int64_t>(m.offered) - static_cast<std::int64_t>(m.delivered);
    m.rx_dropped = uplink_rx_dropped() - dropped_before;
    m.seconds = sent.seconds;
    return m;
  }

  bool wanted(const std::string& variant) const { return o_.only.empty() || o_.only.count(variant) != 0; }

  // Whether a variant whose name starts with `prefix` is measured.
  bool any_wanted(std::string_view prefix) const {
    return std::any_of(kVariants.begin(), kVariants.end(),
                       [&](const std::string& v) { return v.starts_with(prefix) && wanted(v); });
  }

  // Measures `variant` with `gen` unless the options leave it out.
  void take(RigResult& result, const std::string& variant, pktgen::Generator& gen, bool at_node) {
    if (!wanted(variant)) return;
    record(result, variant, measure(gen, at_node));
  }

  void take_new(RigResult& result, const std::string& variant, pktgen::Generator& new_flows) {
    if (!wanted(variant)) return;
    result.fill_frames = std::max(result.fill_frames, fill(new_flows));
    record(result, variant, measure(new_flows, false));
  }

  void record(RigResult& result, const std::string& variant, const Measurement& m) {
    result.runs[variant].push_back(m);
    std::ostringstream line;
    line.precision(3);
    line << std::fixed << variant << ": offered " << m.offered_pps() / 1e6 << " Mpps, delivered "
         << m.delivered_pps() / 1e6 << " Mpps, loss " << m.loss << " (uplink rx_dropped " << m.rx_dropped << ")";
    if (log_) log_(line.str());
  }

  RigOptions o_;
  std::function<void(const std::string&)> log_;
  TopologyGuard topo_guard_;
  PinFolderGuard pins_;
  std::optional<lab::CgroupDir> cgroup_;
  lab::Topology topo_;
  RigNodePrograms programs_;
  std::vector<std::unique_ptr<pktgen::Sink>> sinks_;       // native_sinks
  std::vector<std::unique_ptr<TcIngress>> tc_sinks_;     // otherwise
  config::NodeSettings settings_;
  std::optional<agent::NodeDataplane> node_;
  std::optional<pktgen::Generator> established_, new_flows_, established6_, new_flows6_;
  unsigned uplink_ = 0, client_ifindex_ = 0;
  int cpu_ = 0;
  pktgen::Engine engine_ = pktgen::Engine::live_frames;
  std::uint64_t generation_ = 0;
};

}  // namespace

RigResult run_rig(const RigOptions& options, const std::function<void(const std::string&)>& log) {
  if (options.rounds == 0 || options.rounds > 100) throw std::invalid_argument("rounds must be 1..100");
  if (!(options.seconds > 0) || options.seconds > 60) throw std::invalid_argument("seconds must be in (0, 60]");
  if (options.flows == 0 || options.flows > 64512) throw std::invalid_argument("flows must be 1..64512");
  if (options.conntrack == 0 || options.conntrack > (1u << 24))
    throw std::invalid_argument("conntrack must be 1..16777216");
  for (const auto& v : options.only)
    if (std::find(kVariants.begin(), kVariants.end(), v) == kVariants.end())
      throw std::invalid_argument("no variant named " + v);
  if (lab::plan_topology({options.prefix, 2}).node_netns.size() > 64 || options.prefix.empty())
    throw std::invalid_argument("bad prefix");
  Rig rig(options, log);
  RigResult result;
  result.cpu = rig.cpu();
  result.engine = rig.engine();
  for (unsigned r = 0; r < options.rounds; ++r) {
    if (log) log("round " + std::to_string(r + 1) + " of " + std::to_string(options.rounds));
    rig.round(result, r + 1 == options.rounds);
  }
  return result;
}

}  // namespace portway::rig
