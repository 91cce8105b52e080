#include "dataplane/xdp/layout_upgrade.h"

#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

#include "dataplane/xdp/meta_maps.h"
#include "loader/error.h"
#include "loader/lb_map_ops.h"
#include "loader/map_info.h"
#include "loader/xdp_link.h"
#include "portway/lb_abi.h"

namespace portway::dataplane::xdp {
namespace {

// The per-CPU __u64 counter maps whose size changed between layouts, with this layout's size.
struct CounterMap {
  const char* name;
  std::uint32_t entries;
};
constexpr CounterMap kCounterMaps[] = {{"pw_drops", PW_DROP_SLOTS}, {"pw_events", PW_EVENT_SLOTS}};

// Layout 4's connection maps, which layout 5 replaced (ConnCarry).
constexpr const char* kRetiredConnMaps[] = {"pw_conns", "pw_conns6"};

std::size_t possible_cpus() {
  const int n = libbpf_num_possible_cpus();
  if (n <= 0) throw loader::Error("count possible CPUs", n < 0 ? n : EINVAL);
  return static_cast<std::size_t>(n);
}

// Every key's per-CPU values, key-major (a __u64 value has the kernel's 8-byte per-CPU stride).
std::vector<std::uint64_t> read_all(int fd, std::uint32_t entries, std::size_t cpus, const char* name) {
  std::vector<std::uint64_t> out(static_cast<std::size_t>(entries) * cpus);
  for (std::uint32_t key = 0; key < entries; ++key)
    if (bpf_map_lookup_elem(fd, &key, out.data() + key * cpus) != 0) throw loader::Error("read counters", errno, name);
  return out;
}

void write_key(int fd, std::uint32_t key, const std::uint64_t* values, const char* name) {
  if (bpf_map_update_elem(fd, &key, values, BPF_ANY) != 0) throw loader::Error("carry counters", errno, name);
}

void pin_back(int fd, const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) throw loader::Error("unpin", errno, path);
  loader::pin_object(fd, path);
}

}  // namespace

std::uint32_t refuse_newer_layout(const PinLayout& pins) {
  const std::uint32_t pinned = MetaMaps::pinned_layout(pins);
  if (pinned <= PW_LAYOUT_VERSION) return pinned;
  throw NewerLayout("the fast path pinned under " + pins.dir + " has layout " + std::to_string(pinned) +
                    ", newer than layout " + std::to_string(PW_LAYOUT_VERSION) +
                    " of this portway, which cannot load over it (nothing was changed). To go back to this "
                    "version: with the newer portway, `portway sync --dataplane nft` (removes the fast path; "
                    "nftables serves), then with this one `portway sync --dataplane xdp` "
                    "(docs/xdp-dataplane.md, \"Pinned layout and upgrades\")");
}

LoadedPrograms CounterCarry::load(const PinLayout& pins, const loader::LbCapacities& caps) {
  carried_.clear();
  for (const CounterMap& map : kCounterMaps) {
    const std::string path = pins.map(map.name);
    loader::UniqueFd old = loader::open_pinned(path);
    if (!old || loader::map_info(old.get()).max_entries == map.entries) continue;
    carried_.push_back({map.name, std::move(old), {}});
  }
  const auto restore = [&] {
    for (const Carried& c : carried_) pin_back(c.old_map.get(), pins.map(c.name));
    carried_.clear();
  };
  // From here until the load returns, a process that dies leaves these pins missing; the next
  // sync re-pins them from the running programs (repin_missing_maps) and starts over.
  for (const Carried& c : carried_) {
    const std::string path = pins.map(c.name);
    if (unlink(path.c_str()) != 0) {
      const int err = errno;
      restore();
      throw loader::Error("unpin", err, path);
    }
  }
  LoadedPrograms progs;
  try {
    progs = load_and_pin(pins, caps);
  } catch (...) {
    restore();
    throw;
  }
  const std::size_t cpus = possible_cpus();
  for (Carried& c : carried_) {
    const loader::UniqueFd fresh = loader::open_pinned(pins.map(c.name));
    if (!fresh) throw loader::Error("carry counters", ENOENT, pins.map(c.name));
    const std::uint32_t old_entries = loader::map_info(c.old_map.get()).max_entries;
    const std::uint32_t new_entries = loader::map_info(fresh.get()).max_entries;
    c.copied = read_all(c.old_map.get(), old_entries, cpus, c.name.c_str());
    // Every key of the new map, also those the old one did not have: the load may have
    // written a baseline (lb_install.cc) that the old map's own counters already hold.
    const std::vector<std::uint64_t> zero(cpus, 0);
    for (std::uint32_t key = 0; key < new_entries; ++key)
      write_key(fresh.get(), key, key < old_entries ? c.copied.data() + key * cpus : zero.data(), c.name.c_str());
  }
  return progs;
}

void CounterCarry::finish(const PinLayout& pins) {
  if (carried_.empty()) return;
  const std::size_t cpus = possible_cpus();
  for (const Carried& c : carried_) {
    const loader::UniqueFd fresh = loader::open_pinned(pins.map(c.name));
    if (!fresh) continue;  // the fast path went meanwhile
    const std::uint32_t old_entries = loader::map_info(c.old_map.get()).max_entries;
    const std::vector<std::uint64_t> now = read_all(c.old_map.get(), old_entries, cpus, c.name.c_str());
    std::vector<std::uint64_t> values(cpus);
    for (std::uint32_t key = 0; key < old_entries; ++key) {
      bool moved = false;
      for (std::size_t cpu = 0; cpu < cpus; ++cpu) moved = moved || now[key * cpus + cpu] != c.copied[key * cpus + cpu];
      if (!moved) continue;
      // A user-space update writes every CPU's slot: what the new programs count on this key
      // between the read and the write is lost (a window of one syscall, on one key).
      if (bpf_map_lookup_elem(fresh.get(), &key, values.data()) != 0)
        throw loader::Error("read counters", errno, c.name);
      for (std::size_t cpu = 0; cpu < cpus; ++cpu) values[cpu] += now[key * cpus + cpu] - c.copied[key * cpus + cpu];
      write_key(fresh.get(), key, values.data(), c.name.c_str());
    }
  }
  carried_.clear();
}

namespace {

// A layout-4 connection map's entries as flows (tuple -> flow), for LbMaps::upsert_flows(6).
template <typename FlowKey, typename Flow, typename ConnKey, typename Conn>
std::vector<std::pair<FlowKey, Flow>> flows_of_layout4(int fd, const char* what) {
  std::vector<std::pair<FlowKey, Flow>> flows;
  for (const auto& [ck, c] : loader::map_ops::dump<ConnKey, Conn>(fd, what)) {
    FlowKey k{};
    k.saddr = ck.client_addr;
    k.daddr = c.frontend_addr;
    k.sport = ck.client_port;
    k.dport = c.frontend_port;
    k.proto = ck.proto;
    flows.emplace_back(k, c.flow);
  }
  return flows;
}

}  // namespace

std::size_t ConnCarry::copy(loader::LbMaps& maps) const {
  std::size_t n = 0;
  if (conns_) {
    const auto flows = flows_of_layout4<pw_flow_key, pw_flow, pw_conn_key, pw_conn>(conns_.get(), "read layout 4 connections");
    maps.upsert_flows(flows);
    n += flows.size();
  }
  if (conns6_ && maps.has_ipv6()) {
    const auto flows =
        flows_of_layout4<pw_flow6_key, pw_flow6, pw_conn6_key, pw_conn6>(conns6_.get(), "read layout 4 IPv6 connections");
    maps.upsert_flows6(flows);
    n += flows.size();
  }
  return n;
}

std::size_t ConnCarry::begin(const PinLayout& pins, loader::LbMaps& maps) {
  conns_ = loader::open_pinned(pins.map(kRetiredConnMaps[0]));
  conns6_ = loader::open_pinned(pins.map(kRetiredConnMaps[1]));
  return carrying() ? copy(maps) : 0;
}

std::size_t ConnCarry::finish(const PinLayout& pins, loader::LbMaps& maps) {
  if (!carrying()) return 0;
  const std::size_t n = copy(maps);
  // The old programs counted these connections as inserts, the copies joined the baseline
  // (upsert_flows): the old entries leaving with their pins are the controller's deletes, or
  // flow_fill() would count each carried connection as evicted too (lb_abi.h, pw_events).
  if (conns_)
    maps.add_controller_event(PW_EV_FLOW_CONTROLLER_DELETES,
                              loader::map_ops::count_keys<pw_conn_key>(conns_.get(), "count layout 4 connections"));
  if (conns6_)
    maps.add_controller_event(PW_EV_FLOW6_CONTROLLER_DELETES,
                              loader::map_ops::count_keys<pw_conn6_key>(conns6_.get(), "count layout 4 IPv6 connections"));
  for (const char* name : kRetiredConnMaps) {
    const std::string path = pins.map(name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) throw loader::Error("unpin", errno, path);
  }
  conns_.reset();
  conns6_.reset();
  return n;
}

}  // namespace portway::dataplane::xdp
