#include "dataplane/handoff/flow_carry.h"

#include <arpa/inet.h>

#include <cerrno>
#include <map>
#include <set>
#include <tuple>

#include "loader/error.h"

namespace portway::dataplane::handoff {
namespace {

template <typename Addr>
auto key_of(const conntrack::BasicNatFlow<Addr>& f) {
  return std::make_tuple(f.client, f.frontend, f.client_port, f.frontend_port, f.protocol);
}

// The flows of a family as the fast path holds them.
std::vector<BpfFlow> fast_path_flows(const loader::LbMaps& maps, net::Ipv4) { return maps.flows(); }
std::vector<BpfFlow6> fast_path_flows(const loader::LbMaps& maps, net::Ipv6) { return maps.flows6(); }

// Conntrack's translations of a family.
std::vector<conntrack::NatFlow> conntrack_flows(conntrack::ConntrackTable& ct, net::Ipv4) { return ct.nat_flows(); }
std::vector<conntrack::NatFlow6> conntrack_flows(conntrack::ConntrackTable& ct, net::Ipv6) { return ct.nat_flows6(); }

void upsert(loader::LbMaps& maps, std::span<const BpfFlow> flows) { maps.upsert_flows(flows); }
void upsert(loader::LbMaps& maps, std::span<const BpfFlow6> flows) { maps.upsert_flows6(flows); }

}  // namespace

template <typename Addr>
class ToConntrackFamily {
 public:
  // Frontends and backends do not change during a switch: read once.
  explicit ToConntrackFamily(const loader::LbMaps& maps) : tables_(BasicFastPathTables<Addr>::read(maps)) {}

  // Seeds what is new since the last pass (every flow with `all`); adds what it carried and
  // failed to `counts` and returns what it did not carry (conversion drops are of the last
  // pass, as every pass sees every flow; seeding drops add up).
  std::size_t pass(const loader::LbMaps& maps, conntrack::ConntrackTable& conntrack,
                   const conntrack::SeedTimeouts& timeouts, CarryCounts& counts, bool all) {
    const auto bpf = fast_path_flows(maps, Addr{});
    const BasicConverted<Addr> converted =
        nat_flows_of<Addr>(std::span<const BasicBpfFlow<Addr>>(bpf), tables_, coarse_now_ns());
    std::vector<conntrack::BasicNatFlow<Addr>> fresh;
    for (const auto& f : converted.flows) {
      auto [it, inserted] = written_.try_emplace(key_of(f), f);
      if (!inserted && it->second.same_nat(f) && !all) continue;
      it->second = f;
      fresh.push_back(f);
    }
    const conntrack::SeedCounts c = conntrack.seed(std::span<const conntrack::BasicNatFlow<Addr>>(fresh), timeouts);
    counts.carried += c.created + c.refreshed + c.replaced;
    counts.failed += c.failed;
    seed_dropped_ += c.expired + c.superseded;
    return converted.dropped + seed_dropped_;
  }

 private:
  BasicFastPathTables<Addr> tables_;
  std::map<std::tuple<Addr, Addr, std::uint16_t, std::uint16_t, std::uint8_t>, conntrack::BasicNatFlow<Addr>> written_;
  std::size_t seed_dropped_ = 0;  // expired or superseded, over all passes
};

template <typename Addr>
class ToFastPathFamily {
 public:
  explicit ToFastPathFamily(const loader::LbMaps& maps) : tables_(BasicFastPathTables<Addr>::read(maps)) {}

  // Writes what is new since the last pass; returns what it did not carry (of this pass).
  std::size_t pass(loader::LbMaps& maps, conntrack::ConntrackTable& conntrack, CarryCounts& counts) {
    const auto entries = conntrack_flows(conntrack, Addr{});
    const BasicConvertedBpf<Addr> converted =
        bpf_flows_of<Addr>(std::span<const conntrack::BasicNatFlow<Addr>>(entries), tables_, coarse_now_ns());
    std::vector<BasicBpfFlow<Addr>> fresh;
    for (const auto& [k, f] : converted.flows) {
      // A flow whose translation is unchanged since an earlier pass is not written again.
      using Family = FlowFamily<Addr>;
      const auto key = std::make_tuple(Family::from_wire(k.saddr), Family::from_wire(k.daddr), k.sport, k.dport,
                                       k.proto);
      const auto nat = std::make_tuple(f.backend_id, Family::from_wire(f.backend_addr), f.target_port, f.flags,
                                       Family::from_wire(f.snat_addr));
      auto [it, inserted] = written_.try_emplace(key, nat);
      if (!inserted && it->second == nat) continue;
      it->second = nat;
      fresh.emplace_back(k, f);
    }
    upsert(maps, fresh);
    counts.carried += fresh.size();
    loosen_written(conntrack, entries, fresh, counts);
    return converted.dropped;
  }

 private:
  // The TCP entries of the flows this pass wrote are made liberal (ConntrackTable::loosen says
  // why): the first pass runs before the sandbox interfaces get the tc program.
  void loosen_written(conntrack::ConntrackTable& conntrack, const std::vector<conntrack::BasicNatFlow<Addr>>& entries,
                      const std::vector<BasicBpfFlow<Addr>>& written, CarryCounts& counts) {
    using Family = FlowFamily<Addr>;
    std::set<std::tuple<Addr, Addr, std::uint16_t, std::uint16_t>> tcp;
    for (const auto& [k, f] : written)
      if (k.proto == IPPROTO_TCP)
        tcp.emplace(Family::from_wire(k.saddr), Family::from_wire(k.daddr), ntohs(k.sport), ntohs(k.dport));
    std::vector<conntrack::BasicNatFlow<Addr>> loosen;
    for (const auto& n : entries)
      if (n.protocol == IPPROTO_TCP && tcp.count({n.client, n.frontend, n.client_port, n.frontend_port}))
        loosen.push_back(n);
    counts.failed += conntrack.loosen(std::span<const conntrack::BasicNatFlow<Addr>>(loosen));
  }

  BasicFastPathTables<Addr> tables_;
  // Flow key -> (backend id, backend address, target port, flags, source NAT) written.
  std::map<std::tuple<Addr, Addr, std::uint16_t, std::uint16_t, std::uint8_t>,
           std::tuple<std::uint32_t, Addr, std::uint16_t, std::uint16_t, Addr>>
      written_;
};

std::string CarryCounts::summary(const char* what) const {
  std::string s = "carried " + std::to_string(carried) + " established flows " + what + " (" +
                  std::to_string(passes) + " passes";
  if (dropped) s += ", " + std::to_string(dropped) + " not carried: frontend or backend gone, idle too long or superseded";
  if (failed) s += ", " + std::to_string(failed) + " refused by the kernel";
  return s + ")";
}

FlowsToConntrack::FlowsToConntrack(const xdp::PinLayout& pins) : pinned_(xdp::PinnedLbMaps::open(pins)) {
  if (!pinned_) return;
  maps_.emplace(pinned_->fds());
  v4_ = std::make_unique<ToConntrackFamily<net::Ipv4>>(*maps_);
  if (maps_->has_ipv6()) v6_ = std::make_unique<ToConntrackFamily<net::Ipv6>>(*maps_);
  conntrack_ = std::make_unique<conntrack::ConntrackTable>();
  timeouts_ = conntrack::SeedTimeouts::of_current_netns();
}

FlowsToConntrack::~FlowsToConntrack() = default;

void FlowsToConntrack::pass(bool all) {
  if (!maps_) return;
  ++counts_.passes;
  std::size_t dropped = v4_->pass(*maps_, *conntrack_, timeouts_, counts_, all);
  if (v6_) dropped += v6_->pass(*maps_, *conntrack_, timeouts_, counts_, all);
  counts_.dropped = dropped;
}

FlowsToFastPath::FlowsToFastPath(const xdp::PinLayout& pins) : pinned_(xdp::PinnedLbMaps::open(pins)) {
  if (!pinned_) throw loader::Error("carry flows to the fast path", ENOENT, "its maps are not pinned under " + pins.dir);
  maps_.emplace(pinned_->fds());
  v4_ = std::make_unique<ToFastPathFamily<net::Ipv4>>(*maps_);
  if (maps_->has_ipv6()) v6_ = std::make_unique<ToFastPathFamily<net::Ipv6>>(*maps_);
  conntrack_ = std::make_unique<conntrack::ConntrackTable>();
}

FlowsToFastPath::~FlowsToFastPath() = default;

void FlowsToFastPath::pass() {
  ++counts_.passes;
  std::size_t dropped = v4_->pass(*maps_, *conntrack_, counts_);
  if (v6_) dropped += v6_->pass(*maps_, *conntrack_, counts_);
  counts_.dropped = dropped;
}

}  // namespace portway::dataplane::handoff
