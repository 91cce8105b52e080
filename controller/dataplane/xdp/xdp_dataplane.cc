#include "dataplane/xdp/xdp_dataplane.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "dataplane/xdp/map_programmer.h"
#include "dataplane/xdp/uplink_delivery.h"
#include "loader/bpffs.h"
#include "loader/error.h"
#include "loader/lb_drop_reasons.h"
#include "loader/lb_events.h"
#include "loader/lb_maps.h"
#include "loader/prog_info.h"
#include "loader/tc_filter.h"
#include "loader/xdp_link.h"
#include "netlink/links.h"

namespace portway::dataplane::xdp {

struct XdpDataplane::Open {
  PinnedLbMaps pinned;
  loader::LbMaps maps;
  MetaMaps meta;
  InstalledView view;
};

namespace {

loader::LbCapacities capacities_of(const config::NodeSettings& s) {
  loader::LbCapacities c;
  c.frontends = s.maps.frontends;
  c.backends = s.maps.backends;
  c.backend_sets = s.maps.backend_sets;
  c.maglev_slots = s.maps.maglev_slots;
  c.flows = s.maps.conntrack;
  return c;
}

std::string frontend_label(const pw_frontend_key& k) {
  const char* proto = k.proto == 17 ? "udp" : "tcp";
  if (k.kind == PW_FRONTEND_NODE_PORT) return "node:" + std::to_string(ntohs(k.port)) + "/" + proto;
  return net::to_string(net::Ipv4{ntohl(k.addr)}) + ":" + std::to_string(ntohs(k.port)) + "/" + proto;
}

}  // namespace

state::DataplaneState ipv4_only(const state::DataplaneState& s, std::size_t* dropped) {
  std::vector<state::Frontend> frontends;
  std::size_t skipped = 0;
  for (const auto& f : s.frontends()) {
    if (std::holds_alternative<net::Ipv4>(f.key.address))
      frontends.push_back(f);
    else
      ++skipped;
  }
  if (dropped) *dropped = skipped;
  return state::DataplaneState::from_parts(
      std::move(frontends), {s.node_ports().begin(), s.node_ports().end()},
      {s.backend_sets().begin(), s.backend_sets().end()});
}

XdpDataplane::XdpDataplane(config::NodeSettings settings)
    : XdpDataplane(std::move(settings), Options{}) {}

XdpDataplane::XdpDataplane(config::NodeSettings settings, Options options)
    : settings_(std::move(settings)), options_(options), pins_{settings_.bpffs_dir} {}

XdpDataplane::~XdpDataplane() = default;

bool XdpDataplane::is_installed() const {
  return PinnedLbMaps::open(pins_).has_value() && MetaMaps::open_existing(pins_).has_value();
}

XdpDataplane::Open& XdpDataplane::open_installed() {
  if (open_) return *open_;
  auto pinned = PinnedLbMaps::open(pins_);
  auto meta = MetaMaps::open_existing(pins_);
  if (!pinned || !meta) throw loader::Error("open the fast path", ENOENT, "not installed under " + pins_.dir);
  loader::LbMaps maps(pinned->fds());
  InstalledView view = read_installed(maps, *meta, settings_.maps.maglev_table_size);
  for (const auto& why : view.inconsistencies) spdlog::warn("fast path state: {}", why);
  open_.reset(new Open{std::move(*pinned), std::move(maps), std::move(*meta), std::move(view)});
  // LbMaps holds the fds of `pinned` by value; they moved with it, the numbers are the same.
  return *open_;
}

state::DataplaneState XdpDataplane::installed() {
  if (!is_installed()) return {};
  open_.reset();  // always read the kernel's truth here
  return open_installed().view.state;
}

void XdpDataplane::ensure_attached(std::vector<std::string>& notes) {
  loader::ensure_bpffs(pins_.dir);
  for (const auto& sub : {pins_.maps(), pins_.progs(), pins_.links()})
    std::filesystem::create_directories(sub);
  MetaMaps meta = MetaMaps::open_or_create(pins_, settings_.maps.backend_sets, settings_.maps.frontends);

  std::optional<LoadedPrograms> progs = open_pinned_programs(pins_);
  const std::uint64_t wanted = embedded_object_fingerprint();
  if (!progs || meta.program_fingerprint() != wanted) {
    progs = load_and_pin(pins_, capacities_of(settings_));
    meta.set_program_fingerprint(progs->fingerprint);
    notes.push_back("loaded the fast-path programs (verifier passed)");
    open_.reset();  // maps may have been created just now
    // Tables the previous version kept elsewhere (maps pinned before the flat slot array)
    // or lost in a crash are rebuilt from the installed members before the new programs
    // are attached: otherwise they would reject new flows until the next apply.
    Open& open = open_installed();
    if (!open.view.stale_tables.empty()) {
      const std::size_t n = open.view.stale_tables.size();
      MapProgrammer programmer(open.maps, open.meta, open.view, settings_.maps.maglev_table_size);
      try {
        programmer.apply(state::StateDiff{});
      } catch (...) {
        open_.reset();
        throw;
      }
      notes.push_back("rebuilt " + std::to_string(n) + " Maglev tables before attaching");
    }
  }
  // Before XDP runs on them (uplink_delivery.h says why).
  prepare_uplinks(open_installed().maps, meta, progs->tc_uplink.get(), settings_.uplinks, notes);
  attach_uplinks(*progs, notes);
  attach_sandbox_interfaces(*progs, meta, notes);
  attach_socket_hooks(pins_, progs->sock, socket_hook_cgroup(settings_), notes);
}

void XdpDataplane::attach_uplinks(const LoadedPrograms& progs, std::vector<std::string>& notes) {
  const std::uint32_t want_prog = loader::program_info(progs.xdp.get()).id;
  for (const auto& name : settings_.uplinks) {
    const unsigned ifindex = netlink::ifindex_of(name);
    if (ifindex == 0) throw loader::Error("attach XDP", ENODEV, "uplink " + name + " does not exist");
    const std::string pin = pins_.xdp_link(name);
    if (loader::UniqueFd link = loader::open_pinned(pin)) {
      const auto info = loader::xdp_link_info(link.get());
      if (info.ifindex == ifindex) {
        if (info.prog_id != want_prog) {
          loader::update_link_program(link.get(), progs.xdp.get());
          notes.push_back("upgraded the XDP program on " + name);
        }
        continue;
      }
      // The interface was deleted (and maybe re-created): the old link is defunct.
      loader::unpin_and_detach(pin);
      notes.push_back("re-attaching XDP to " + name + " (interface was re-created)");
    }
    loader::XdpLink link = loader::attach_xdp_link(progs.xdp.get(), static_cast<int>(ifindex),
                                                   options_.allow_generic);
    loader::pin_object(link.fd.get(), pin);
    notes.push_back("attached XDP (" + std::string(loader::to_string(link.mode)) + ") to " + name +
                    (link.fallback_reason.empty() ? "" : ": " + link.fallback_reason));
  }
}

void XdpDataplane::attach_sandbox_interfaces(const LoadedPrograms& progs, MetaMaps& meta,
                                             std::vector<std::string>& notes) {
  const std::uint32_t want_prog = loader::program_info(progs.tc.get()).id;
  auto owned = meta.tc_interfaces();
  std::set<std::uint32_t> present;
  for (const auto& link : netlink::list_links()) {
    present.insert(link.ifindex);
    const bool is_uplink = std::find(settings_.uplinks.begin(), settings_.uplinks.end(),
                                     link.name) != settings_.uplinks.end();
    const bool matches = std::any_of(
        settings_.sandbox_interfaces.begin(), settings_.sandbox_interfaces.end(),
        [&](const std::string& glob) { return fnmatch(glob.c_str(), link.name.c_str(), 0) == 0; });
    if (is_uplink || !matches) continue;
    if (loader::tc_program_id(static_cast<int>(link.ifindex), loader::TcDirection::ingress) == want_prog)
      continue;
    const auto result = loader::attach_tc(static_cast<int>(link.ifindex), loader::TcDirection::ingress,
                                          progs.tc.get());
    // Keep "we created the qdisc" from the first attach: a re-attach finds our own qdisc.
    const bool created = owned.count(link.ifindex) ? owned[link.ifindex] : result.created_clsact;
    meta.set_tc_owned(link.ifindex, created);
    notes.push_back("attached tc ingress to " + link.name);
  }
  for (const auto& [ifindex, created] : owned)
    if (!present.count(ifindex)) meta.erase_tc(ifindex);  // the interface is gone
}

void XdpDataplane::sync_node_addresses(loader::LbMaps& maps) {
  std::vector<std::uint32_t> wanted;  // network order
  for (const auto& a : settings_.node_addresses)
    if (auto v4 = net::parse_ipv4(a)) wanted.push_back(htonl(v4->value));
  if (settings_.node_addresses.empty()) {
    for (const auto& name : settings_.uplinks)
      if (unsigned idx = netlink::ifindex_of(name))
        for (const auto& a : netlink::ipv4_addresses(idx)) wanted.push_back(htonl(a.value));
  }
  for (const auto& [addr, value] : maps.node_addrs())
    if (std::find(wanted.begin(), wanted.end(), addr) == wanted.end()) maps.erase_node_addr(addr);
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    pw_node_addr v{};
    // The first node address is the source a hairpinned sandbox's connection is NATed to.
    v.flags = i == 0 ? PW_NODE_ADDR_HAIRPIN : 0;
    maps.upsert_node_addr(wanted[i], v);
  }
}

ApplyReport XdpDataplane::apply(const state::DataplaneState& desired) {
  ApplyReport report;
  ensure_attached(report.notes);
  Open& open = open_installed();
  sync_node_addresses(open.maps);
  // Filtered only when there is IPv6 to drop: the copy (and from_parts' sort and checks) of
  // a 10,000-Service state costs ~25 ms, 10x the diff itself.
  const bool has_ipv6 = std::any_of(desired.frontends().begin(), desired.frontends().end(), [](const auto& f) {
    return !std::holds_alternative<net::Ipv4>(f.key.address);
  });
  std::size_t skipped = 0;
  const std::optional<state::DataplaneState> v4 =
      has_ipv6 ? std::optional(ipv4_only(desired, &skipped)) : std::nullopt;
  if (skipped) report.notes.push_back(std::to_string(skipped) + " IPv6 frontends not programmed: the fast path is IPv4-only");
  report.applied = state::diff(open.view.state, v4 ? *v4 : desired);
  program(report.applied, report.notes);
  return report;
}

void XdpDataplane::apply_changes(const state::StateDiff& d) {
  std::vector<std::string> notes;
  program(d, notes);
}

void XdpDataplane::program(const state::StateDiff& d, std::vector<std::string>& notes) {
  Open& open = open_installed();
  MapProgrammer programmer(open.maps, open.meta, open.view, settings_.maps.maglev_table_size);
  try {
    programmer.apply(d);
  } catch (...) {
    open_.reset();  // the view may be half-updated: re-read the kernel next time
    throw;
  }
  // The packet path resets/re-balances flows of removed backends; the node's own sockets
  // never cross it, so they are ended here (after the tables stopped naming those backends).
  if (const std::size_t ended = end_sockets_of_removed_backends(pins_, d))
    notes.push_back("ended " + std::to_string(ended) + " node socket(s) to removed backends");
}

void XdpDataplane::remove_all() {
  open_.reset();
  if (auto meta = MetaMaps::open_existing(pins_)) {
    for (const auto& [ifindex, created] : meta->tc_interfaces())
      loader::detach_tc(static_cast<int>(ifindex), loader::TcDirection::ingress, created);
    std::vector<std::string> notes;
    release_uplinks(nullptr, *meta, {}, notes);
  }
  std::error_code ec;
  if (std::filesystem::exists(pins_.links(), ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(pins_.links()))
      loader::unpin_and_detach(entry.path().string());
  }
  // Unpinning drops the last references: maps and programs are freed by the kernel.
  std::filesystem::remove_all(pins_.dir, ec);
  if (ec) throw loader::Error("remove pins", ec.value(), pins_.dir);
}

Stats XdpDataplane::stats() {
  Stats out;
  if (!is_installed()) return out;
  Open& open = open_installed();
  for (const auto& [key, fe] : open.maps.frontends()) {
    const pw_traffic t = open.maps.frontend_traffic(fe.id);
    out.frontends[frontend_label(key)] = {t.packets, t.bytes, t.new_flows, t.rejected};
  }
  for (const auto& [member, id] : open.view.backend_ids) {
    const pw_traffic t = open.maps.backend_traffic(id);
    std::string set_name;
    for (const auto& [name, set_id] : open.view.set_ids)
      if (set_id == member.first) set_name = name;
    out.backends[set_name + " " + net::to_string(net::Ipv4{member.second})] = {t.packets, t.bytes, t.new_flows, t.rejected};
  }
  const auto drops = open.maps.all_drops();
  for (std::uint32_t r = 1; r < drops.size(); ++r)
    out.drops[std::string(loader::drop_reason_name(r))] = drops[r];
  const auto events = open.maps.all_events();
  for (std::uint32_t e = 0; e < events.size(); ++e) out.events[std::string(loader::event_name(e))] = events[e];
  return out;
}

std::vector<Attachment> XdpDataplane::attachments() {
  std::vector<Attachment> out;
  for (const auto& name : settings_.uplinks) {
    const unsigned idx = netlink::ifindex_of(name);
    if (!idx) continue;
    bpf_xdp_query_opts q{};
    q.sz = sizeof q;
    if (bpf_xdp_query(static_cast<int>(idx), 0, &q) != 0 || q.prog_id == 0) continue;
    out.push_back({name, "xdp", q.attach_mode == XDP_ATTACHED_SKB ? "generic" : "native"});
  }
  if (auto meta = MetaMaps::open_existing(pins_)) {
    const auto uplink_tc = meta->uplink_tc_interfaces();
    for (const auto& link : netlink::list_links()) {
      if (meta->tc_interfaces().count(link.ifindex)) out.push_back({link.name, "tc-ingress", "clsact"});
      if (uplink_tc.count(link.ifindex)) out.push_back({link.name, "tc-ingress", "xdp hand-off"});
    }
  }
  for (const auto& hook : socket_hook_attachments(pins_))
    out.push_back({"cgroup id " + std::to_string(hook.cgroup_id), hook.hook, "link"});
  return out;
}

}  // namespace portway::dataplane::xdp
