#include "dataplane/xdp/xdp_dataplane.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <cerrno>
#include <filesystem>
#include <set>

#include "dataplane/node_addresses.h"
#include "dataplane/xdp/map_programmer.h"
#include "dataplane/xdp/pin_repair.h"
#include "dataplane/xdp/uplink_delivery.h"
#include "loader/bpffs.h"
#include "loader/error.h"
#include "loader/kernel_objects.h"
#include "loader/lb_drop_reasons.h"
#include "loader/lb_events.h"
#include "loader/lb_maps.h"
#include "loader/prog_info.h"
#include "loader/tc_filter.h"
#include "loader/xdp_link.h"
#include "netlink/links.h"

namespace portway::dataplane::xdp {

namespace {

// The reading of a check: what the maps held, compared (on the reader's thread) with the
// desired state as it was when the reader was made.
struct XdpReading final : KernelReading {
  bool complete = false;  // every map pinned and readable
  state::StateDiff differences;  // from the maps to the desired state
  std::size_t stale_tables = 0;
  std::size_t stale_frontends = 0;  // IPv6 node-port entries missing or different, orphans
  std::vector<std::string> inconsistencies;
};

class XdpReader final : public KernelReader {
 public:
  XdpReader(const PinLayout& pins, state::DataplaneState want, std::uint32_t maglev_table_size)
      : pinned_(PinnedLbMaps::open(pins)), meta_(MetaMaps::open_existing(pins)), want_(std::move(want)),
        table_size_(maglev_table_size) {}

  std::unique_ptr<KernelReading> read() override {
    auto out = std::make_unique<XdpReading>();
    if (!pinned_ || !meta_) return out;
    const loader::LbMaps maps(pinned_->fds());
    InstalledView v = read_installed(maps, *meta_, table_size_);
    out->complete = true;
    out->differences = state::diff(v.state, want_);
    out->stale_tables = v.stale_tables.size();
    out->stale_frontends = v.stale_node_ports.size() + v.orphan_frontends6.size();
    out->inconsistencies = std::move(v.inconsistencies);
    return out;
  }

 private:
  std::optional<PinnedLbMaps> pinned_;  // fds of its own: any thread, any namespace
  std::optional<MetaMaps> meta_;
  state::DataplaneState want_;
  std::uint32_t table_size_;
};

}  // namespace

struct XdpDataplane::Open {
  PinnedLbMaps pinned;
  loader::LbMaps maps;
  MetaMaps meta;
  InstalledView view;
  // pw_prefilter holds what prefilter_input_ and the view's frontends make: only a diff that
  // adds or removes frontends can change it (the build walks every frontend: 30,000 at the
  // size the daemon is built for, a fifth of a member change's time).
  bool prefilter_current = false;
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

// Map sizes are fixed when the maps are created (docs/operations.md "The fast path on the node"): a
// node file that asks for others is reported on every sync until the operator recreates the maps.
std::vector<std::string> size_mismatches(const loader::LbCapacities& installed, const config::NodeSettings& s) {
  const loader::LbCapacities wanted = capacities_of(s);
  const auto chunks = [](std::uint32_t slots) { return (slots + PW_MAGLEV_CHUNK_SLOTS - 1) / PW_MAGLEV_CHUNK_SLOTS; };
  struct Row {
    const char* key;
    std::uint32_t want, have;
    bool differs;
  };
  const Row rows[] = {
      {"frontends", wanted.frontends, installed.frontends, wanted.frontends != installed.frontends},
      {"backends", wanted.backends, installed.backends, wanted.backends != installed.backends},
      {"backend_sets", wanted.backend_sets, installed.backend_sets, wanted.backend_sets != installed.backend_sets},
      {"conntrack", wanted.flows, installed.flows, wanted.flows != installed.flows},
      {"maglev_slots", wanted.maglev_slots, installed.maglev_slots,
       chunks(wanted.maglev_slots) != chunks(installed.maglev_slots)},
  };
  std::vector<std::string> out;
  for (const Row& r : rows) {
    if (!r.differs) continue;
    out.push_back("[maps] " + std::string(r.key) + " = " + std::to_string(r.want) +
                  " in the node settings, but the running fast path's map holds " + std::to_string(r.have) +
                  ": sizes apply when the maps are created. To resize: portway sync --dataplane nft (removes "
                  "the fast path), then portway sync --dataplane xdp (a dataplane switch)");
  }
  return out;
}

std::string frontend_label(const pw_frontend_key& k) {
  const char* proto = k.proto == 17 ? "udp" : "tcp";
  if (k.kind == PW_FRONTEND_NODE_PORT) return "node:" + std::to_string(ntohs(k.port)) + "/" + proto;
  return net::to_string(net::Ipv4{ntohl(k.addr)}) + ":" + std::to_string(ntohs(k.port)) + "/" + proto;
}

std::string frontend6_label(const pw_frontend6_key& k) {
  return state::to_string(state::FrontendKey{ipv6_of(k.addr), ntohs(k.port),
                                             k.proto == IPPROTO_UDP ? config::Protocol::udp : config::Protocol::tcp});
}

}  // namespace

XdpDataplane::XdpDataplane(config::NodeSettings settings)
    : XdpDataplane(std::move(settings), Options{}) {}

XdpDataplane::XdpDataplane(config::NodeSettings settings, Options options)
    : settings_(std::move(settings)), options_(options), pins_{settings_.bpffs_dir} {}

XdpDataplane::~XdpDataplane() = default;

void XdpDataplane::count(const char* kind, const std::string& note) {
  if (repairs_) repairs_->add(kind, "xdp: " + note);
}

bool XdpDataplane::is_installed() {
  // Anything pinned counts: a fast path with a deleted pin still forwards, and is repaired
  // (ensure_attached) or removed (remove_all), never ignored.
  std::error_code ec;
  for (const auto& dir : {pins_.maps(), pins_.links(), pins_.progs()})
    if (std::filesystem::is_directory(dir, ec) && !std::filesystem::is_empty(dir, ec)) return true;
  return false;
}

bool XdpDataplane::is_complete() const {
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
  if (!is_complete()) return {};
  open_.reset();  // always read the kernel's truth here
  return open_installed().view.state;
}

LoadedPrograms XdpDataplane::ensure_loaded(std::vector<std::string>& notes) {
  // Every setting is checked before anything changes: a bad one leaves a running fast path
  // exactly as it is (its hooks included).
  (void)socket_hook_cgroup(settings_);
  const std::vector<unsigned> uplinks = uplink_ifindexes();
  found_layout_ = refuse_newer_layout(pins_);
  loader::ensure_bpffs(pins_.dir);
  for (const auto& sub : {pins_.maps(), pins_.progs(), pins_.links()})
    std::filesystem::create_directories(sub);
  // Before anything is loaded: libbpf would create an empty map for a missing pin, beside
  // the one the running programs use. First from what this process holds (no privilege
  // beyond the folder's), then by looking the running programs' maps up (CAP_SYS_ADMIN).
  for (auto& note : keeper_.restore_missing()) {
    count("pin_missing", note);
    notes.push_back(std::move(note));
  }
  for (auto& note : repin_missing_maps(pins_, pinned_map_names(), uplinks)) {
    count("pin_missing", note);
    notes.push_back(std::move(note));
  }
  // The metadata maps are no program's: a deleted pin took them with it. Recreated empty,
  // the names they held are restored from the desired state by the next apply().
  std::error_code ec;
  if (PinnedLbMaps::open(pins_) &&
      (!std::filesystem::exists(pins_.map("pw_meta_sets"), ec) || !std::filesystem::exists(pins_.map("pw_meta_frontends"), ec))) {
    names_lost_ = true;
    count("pin_missing", "the metadata map pins were missing: recreated, names restored from the store");
  }
  MetaMaps meta = MetaMaps::open_or_create(pins_, settings_.maps.backend_sets, settings_.maps.frontends);

  std::optional<LoadedPrograms> progs = open_pinned_programs(pins_);
  const std::uint64_t wanted = embedded_object_fingerprint();
  if (!progs || meta.program_fingerprint() != wanted) {
    if (!progs && PinnedLbMaps::open(pins_)) count("pin_missing", "a program pin was missing: programs reloaded");
    progs = carry_.load(pins_, capacities_of(settings_));
    meta.set_program_fingerprint(progs->fingerprint);
    // Nothing was pinned: every map is this layout's and no older program runs, so the layout
    // is recorded at once. Left to record_layout(), the next ensure_loaded() of the same
    // programming (ensure_attached) would find pw_frontends pinned without a record, which is
    // what layout-1 pins look like, and note an upgrade that never happened.
    if (found_layout_ == 0 && !carry_.carrying()) meta.set_layout_version(PW_LAYOUT_VERSION);
    if (carry_.carrying()) notes.push_back("upgrading the pinned layout to " + std::to_string(PW_LAYOUT_VERSION) +
                                           ": counters carried into the resized maps, every other map kept");
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
  // Layout 4's connections, into the set tables that replaced their maps (layout_upgrade.h).
  // Here and not only after a load: a process that stopped between the load and the end of the
  // attachments finds the programs loaded and the old maps still pinned.
  if (found_layout_ != 0 && found_layout_ < 5 && !conn_carry_.carrying()) {
    const std::size_t n = conn_carry_.begin(pins_, open_installed().maps);
    if (conn_carry_.carrying())
      notes.push_back("copied " + std::to_string(n) + " connections of layout 4 into the connection tables");
  }
  keeper_.hold_all(pins_);
  return std::move(*progs);
}

void XdpDataplane::ensure_attached(std::vector<std::string>& notes, const std::function<void()>& after_sandboxes) {
  LoadedPrograms progs = ensure_loaded(notes);
  MetaMaps meta = MetaMaps::open_or_create(pins_, settings_.maps.backend_sets, settings_.maps.frontends);
  // Sandbox interfaces before uplinks: while nftables still serves the uplinks, the tc program
  // only answers for flows the maps know (replies of carried flows, new sandbox flows), and
  // the stack keeps the rest; the uplinks come last, so a new flow from outside is picked by
  // exactly one dataplane (docs/operations.md "Switching the dataplane").
  const std::string cgroup = socket_hook_cgroup(settings_);
  attach_sandbox_interfaces(progs, meta, notes);
  if (after_sandboxes) after_sandboxes();
  // Before XDP runs on them (uplink_delivery.h says why).
  prepare_uplinks(open_installed().maps, meta, progs.tc_uplink.get(), settings_.uplinks, notes);
  attach_uplinks(progs, notes);
  detach_former_uplinks(notes);
  attach_socket_hooks(pins_, progs.sock, cgroup, notes);
  record_layout(meta, notes);
}

void XdpDataplane::record_layout(MetaMaps& meta, std::vector<std::string>& notes) {
  // Only now: every attachment runs the programs of this layout, so nothing counts into the
  // maps an upgrade replaced any more (docs/xdp-dataplane.md, "Pinned layout and upgrades").
  carry_.finish(pins_);
  if (conn_carry_.carrying()) {
    const std::size_t n = conn_carry_.finish(pins_, open_installed().maps);
    notes.push_back("carried " + std::to_string(n) + " connections of layout 4 and removed its connection maps");
  }
  if (MetaMaps::pinned_layout(pins_) == PW_LAYOUT_VERSION) return;
  if (found_layout_ != 0 && found_layout_ < 4) {
    // Layout 4's connection maps: every program reads them now, so the flows the older
    // programs recorded move in (docs/xdp-dataplane.md, "Pinned layout and upgrades").
    const std::size_t moved = open_installed().maps.move_flows_into_conns();
    notes.push_back("moved " + std::to_string(moved) + " established flows into the connection maps");
  }
  meta.set_layout_version(PW_LAYOUT_VERSION);
  if (found_layout_ != 0 && found_layout_ < PW_LAYOUT_VERSION)
    notes.push_back("upgraded the pinned layout from " + std::to_string(found_layout_) + " to " +
                    std::to_string(PW_LAYOUT_VERSION));
}

bool XdpDataplane::is_running() {
  if (!is_installed()) return false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(pins_.links(), ec))
    if (entry.path().filename().string().starts_with("xdp-")) return true;
  return false;
}

std::vector<unsigned> XdpDataplane::uplink_ifindexes() const {
  std::vector<unsigned> out;
  for (const auto& name : settings_.uplinks) {
    const unsigned ifindex = netlink::ifindex_of(name);
    if (ifindex == 0) throw loader::Error("attach XDP", ENODEV, "uplink " + name + " does not exist");
    out.push_back(ifindex);
  }
  return out;
}

void XdpDataplane::detach_former_uplinks(std::vector<std::string>& notes) {
  // Only our own link pins are looked at: an XDP program someone else attached is not ours.
  std::error_code ec;
  std::vector<std::string> former;
  for (const auto& entry : std::filesystem::directory_iterator(pins_.links(), ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("xdp-", 0) != 0) continue;
    const std::string ifname = file.substr(4);
    if (std::find(settings_.uplinks.begin(), settings_.uplinks.end(), ifname) == settings_.uplinks.end())
      former.push_back(ifname);
  }
  if (former.empty()) return;
  // A renamed uplink's link was adopted under its new name: that pin goes, the link stays.
  std::set<std::uint32_t> current;
  for (const auto& name : settings_.uplinks)
    if (loader::UniqueFd link = loader::open_pinned(pins_.xdp_link(name))) current.insert(loader::link_id(link.get()));
  for (const auto& ifname : former) {
    const std::string pin = pins_.xdp_link(ifname);
    loader::UniqueFd link = loader::open_pinned(pin);
    if (link && current.count(loader::link_id(link.get()))) {
      if (unlink(pin.c_str()) != 0 && errno != ENOENT) throw loader::Error("unpin", errno, pin);
      notes.push_back("XDP link of " + ifname + " kept under its new name");
      continue;
    }
    loader::unpin_and_detach(pin);
    notes.push_back("detached XDP from " + ifname + " (no longer an uplink)");
  }
}

void XdpDataplane::attach_uplinks(const LoadedPrograms& progs, std::vector<std::string>& notes) {
  const std::uint32_t want_prog = loader::program_info(progs.xdp.get()).id;
  for (const auto& name : settings_.uplinks) {
    const unsigned ifindex = netlink::ifindex_of(name);
    if (ifindex == 0) throw loader::Error("attach XDP", ENODEV, "uplink " + name + " does not exist");
    const std::string pin = pins_.xdp_link(name);
    if (!std::filesystem::exists(pin) && adopt_xdp_link(pin, ifindex)) {
      notes.push_back("repaired: re-pinned the XDP link of " + name + " (its pin was missing)");
      count("pin_missing", notes.back());
    }
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
      notes.push_back("re-attaching XDP to " + name + " (its link was detached, or the interface re-created)");
    }
    count("xdp_detached", "XDP was not attached to uplink " + name);
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
    if (is_uplink || !matches) {
      // Attached by us (recorded in pw_meta_tc) and no longer named: only our own filter
      // goes, and the clsact qdisc only if we created it.
      if (auto it = owned.find(link.ifindex); it != owned.end()) {
        loader::detach_tc(static_cast<int>(link.ifindex), loader::TcDirection::ingress, it->second);
        meta.erase_tc(link.ifindex);
        owned.erase(it);
        notes.push_back("detached tc ingress from " + link.name +
                        (is_uplink ? " (now an uplink)" : " (no longer a sandbox interface)"));
      }
      continue;
    }
    if (loader::tc_program_id(static_cast<int>(link.ifindex), loader::TcDirection::ingress) == want_prog)
      continue;
    const auto result = loader::attach_tc(static_cast<int>(link.ifindex), loader::TcDirection::ingress,
                                          progs.tc.get());
    // Keep "we created the qdisc" from the first attach: a re-attach finds our own qdisc.
    const bool known = owned.count(link.ifindex) > 0;
    const bool created = known ? owned[link.ifindex] : result.created_clsact;
    if (known)
      count("tc_detached", "the tc filter on " + link.name + " was removed");
    else
      count("sandbox_interface_attached", "sandbox interface " + link.name + " (ifindex " +
                                              std::to_string(link.ifindex) + ") had no filter: new or re-created");
    meta.set_tc_owned(link.ifindex, created);
    notes.push_back("attached tc ingress to " + link.name);
  }
  for (const auto& [ifindex, created] : owned)
    if (!present.count(ifindex)) meta.erase_tc(ifindex);  // the interface is gone
}

void XdpDataplane::sync_node_addresses6(loader::LbMaps& maps) {
  if (!maps.has_ipv6()) return;
  std::vector<pw_in6> wanted;
  for (const auto& a : node_ipv6_addresses(settings_)) wanted.push_back(in6_of(a));
  const auto same = [](const pw_in6& a, const pw_in6& b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  for (const auto& [addr, value] : maps.node_addrs6())
    if (std::none_of(wanted.begin(), wanted.end(), [&](const pw_in6& w) { return same(w, addr); }))
      maps.erase_node_addr6(addr);
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    pw_node_addr v{};
    // As for IPv4: the first IPv6 node address is the IPv6 hairpin source.
    v.flags = i == 0 ? PW_NODE_ADDR_HAIRPIN : 0;
    maps.upsert_node_addr6(wanted[i], v);
  }
}

void XdpDataplane::sync_node_addresses(loader::LbMaps& maps) {
  sync_node_addresses6(maps);
  std::vector<std::uint32_t> wanted;  // network order
  for (const auto a : node_ipv4_addresses(settings_)) wanted.push_back(htonl(a.value));
  for (const auto& [addr, value] : maps.node_addrs())
    if (std::find(wanted.begin(), wanted.end(), addr) == wanted.end()) maps.erase_node_addr(addr);
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    pw_node_addr v{};
    // The first node address is the source a hairpinned sandbox's connection is NATed to.
    v.flags = i == 0 ? PW_NODE_ADDR_HAIRPIN : 0;
    maps.upsert_node_addr(wanted[i], v);
  }
}

void XdpDataplane::sync_prefilter(loader::LbMaps& maps, const state::DataplaneState& installed) {
  if (!prefilter_input_ || !maps.has_prefilter()) return;
  const pw_prefilter wanted = build_prefilter(*prefilter_input_, installed);
  const pw_prefilter now = maps.prefilter();
  if (std::memcmp(&wanted, &now, sizeof(wanted)) != 0) maps.set_prefilter(wanted);
}

ApplyReport XdpDataplane::apply(const state::DataplaneState& desired) {
  ApplyReport report = prepare(desired);
  ensure_attached(report.notes);
  return report;
}

ApplyReport XdpDataplane::prepare(const state::DataplaneState& desired) {
  ApplyReport report;
  (void)ensure_loaded(report.notes);
  if (names_lost_) {
    open_.reset();
    if (const std::size_t named = restore_names(desired))
      report.notes.push_back("repaired: named " + std::to_string(named) +
                             " installed frontends again from the store (the metadata pins were missing)");
    names_lost_ = false;
  }
  Open& open = open_installed();
  for (auto& note : size_mismatches(open.maps.capacities(), settings_)) report.notes.push_back(std::move(note));
  sync_node_addresses(open.maps);
  prefilter_input_ = prefilter_input(settings_);
  open.prefilter_current = false;
  report.applied = state::diff(open.view.state, desired);
  program(report.applied, report.notes);
  return report;
}

std::size_t XdpDataplane::restore_names(const state::DataplaneState& desired) {
  auto pinned = PinnedLbMaps::open(pins_);
  auto meta = MetaMaps::open_existing(pins_);
  if (!pinned || !meta) return 0;
  const loader::LbMaps maps(pinned->fds());
  // An installed frontend is the desired one with the same key: its set id gets that
  // frontend's Service id, its id the port's name. A set already named keeps its name.
  std::map<state::FrontendKey, const state::Frontend*> frontends;
  for (const auto& f : desired.frontends()) frontends[f.key] = &f;
  std::map<state::NodePortKey, const state::NodePort*> node_ports;
  for (const auto& np : desired.node_ports()) node_ports[np.key] = &np;
  std::map<std::uint32_t, std::string> set_names = meta->set_names();
  std::vector<std::pair<std::uint32_t, std::string>> new_sets, new_frontends;
  for (const auto& [key, fe] : maps.frontends()) {
    const config::Protocol proto = key.proto == IPPROTO_UDP ? config::Protocol::udp : config::Protocol::tcp;
    const std::string* set = nullptr;
    const std::string* port = nullptr;
    if (key.kind == PW_FRONTEND_NODE_PORT) {
      if (auto it = node_ports.find({ntohs(key.port), proto}); it != node_ports.end()) {
        set = &it->second->backend_set;
        port = &it->second->port_name;
      }
    } else if (auto it = frontends.find({net::Ipv4{ntohl(key.addr)}, ntohs(key.port), proto}); it != frontends.end()) {
      set = &it->second->backend_set;
      port = &it->second->port_name;
    }
    if (!set) continue;
    if (!set_names.count(fe.set_id)) {
      set_names[fe.set_id] = *set;
      new_sets.emplace_back(fe.set_id, *set);
    }
    new_frontends.emplace_back(fe.id, *port);
  }
  for (const auto& [key, fe] : maps.frontends6()) {
    if (key.kind != PW_FRONTEND_SERVICE) continue;  // node ports: named with their IPv4 entry
    const config::Protocol proto = key.proto == IPPROTO_UDP ? config::Protocol::udp : config::Protocol::tcp;
    auto it = frontends.find({ipv6_of(key.addr), ntohs(key.port), proto});
    if (it == frontends.end()) continue;
    if (!set_names.count(fe.set_id)) {
      set_names[fe.set_id] = it->second->backend_set;
      new_sets.emplace_back(fe.set_id, it->second->backend_set);
    }
    new_frontends.emplace_back(fe.id, it->second->port_name);
  }
  meta->set_set_names(new_sets);
  meta->set_frontend_names(new_frontends);
  return new_frontends.size();
}

ApplyReport XdpDataplane::apply_changes(const state::StateDiff& d, const state::DataplaneState& desired) {
  if (!open_ && !is_complete()) return apply(desired);
  ApplyReport report;
  report.applied = d;
  program(report.applied, report.notes);
  return report;
}

std::unique_ptr<KernelReader> XdpDataplane::make_reader(const state::DataplaneState& desired) {
  touched_ = std::make_unique<state::TouchedKeys>();
  if (!is_complete()) {
    touched_->everything = true;
    return nullptr;
  }
  // One copy of what the maps must hold (milliseconds at 10,000 Services), so that the
  // comparison runs on the reader's thread.
  return std::make_unique<XdpReader>(pins_, desired, settings_.maps.maglev_table_size);
}

Repairs XdpDataplane::repair(const KernelReading* reading, const state::DataplaneState& desired) {
  std::unique_ptr<state::TouchedKeys> touched =
      touched_ ? std::move(touched_) : std::make_unique<state::TouchedKeys>();
  Repairs out;
  repairs_ = &out;
  struct Reset {
    Repairs*& r;
    ~Reset() { r = nullptr; }
  } reset{repairs_};
  const auto* r = static_cast<const XdpReading*>(reading);  // made by make_reader() above
  // The maps are re-read and re-asserted here (on the owner's thread) only without a usable
  // reading, or when it found differences outside what was programmed since it was made.
  // A table found stale while this object was programming may be one it was switching.
  const bool maps_differ = !r || !r->complete || touched->everything || (r->stale_tables > 0 && touched->sets.empty()) ||
                           r->stale_frontends > 0 || touched->outside(r->differences) > 0;
  std::vector<std::string> notes;
  if (!maps_differ) {
    (void)ensure_loaded(notes);  // pins: counted there
    if (!names_lost_ && is_complete()) {
      ensure_attached(notes);
      return out;
    }
  }
  open_.reset();  // the kernel's truth, not the view
  ApplyReport report = prepare(desired);
  if (const std::size_t n = report.applied.frontends.size() + report.applied.node_ports.size() +
                            report.applied.backend_sets.size())
    out.add("xdp_maps", "xdp: " + std::to_string(n) + " frontends, node ports or backend sets differed in the maps");
  ensure_attached(report.notes);
  return out;
}

void XdpDataplane::apply_changes(const state::StateDiff& d) {
  std::vector<std::string> notes;
  program(d, notes);
}

void XdpDataplane::program(const state::StateDiff& d, std::vector<std::string>& notes) {
  if (touched_) touched_->add(d);
  Open& open = open_installed();
  MapProgrammer programmer(open.maps, open.meta, open.view, settings_.maps.maglev_table_size);
  try {
    programmer.apply(d);
  } catch (...) {
    open_.reset();  // the view may be half-updated: re-read the kernel next time
    throw;
  }
  // After the frontends: a frontend outside the filter until then is one not installed yet.
  if (!open.prefilter_current || !d.frontends.added.empty() || !d.frontends.removed.empty()) {
    sync_prefilter(open.maps, open.view.state);
    open.prefilter_current = true;
  }
  // The packet path resets/re-balances flows of removed backends; the node's own sockets
  // never cross it, so they are ended here (after the tables stopped naming those backends).
  if (const std::size_t ended = end_sockets_of_removed_backends(pins_, d))
    notes.push_back("ended " + std::to_string(ended) + " node socket(s) to removed backends");
}

void XdpDataplane::remove_all() { remove_in_order({}); }

void XdpDataplane::remove_in_order(const std::function<void(RemovalStep)>& after,
                                   CreatedQdiscs qdiscs) {
  open_.reset();
  keeper_.forget();  // else the maps and programs would outlive their pins
  std::error_code ec;
  // The uplinks first: from then on new flows from outside go to whatever the stack has
  // (nftables during a switch), while the tc program still answers for the fast path's own
  // flows; then the sandbox interfaces; then the socket hooks and the pins.
  const auto unpin_links = [&](std::string_view prefix) {
    if (!std::filesystem::exists(pins_.links(), ec)) return;
    for (const auto& entry : std::filesystem::directory_iterator(pins_.links()))
      if (entry.path().filename().string().starts_with(prefix)) loader::unpin_and_detach(entry.path().string());
  };
  unpin_links("xdp-");
  if (after) after(RemovalStep::uplinks_detached);
  if (auto meta = MetaMaps::open_existing(pins_)) {
    for (const auto& [ifindex, created] : meta->tc_interfaces())
      loader::detach_tc(static_cast<int>(ifindex), loader::TcDirection::ingress,
                        created && qdiscs == CreatedQdiscs::remove);
    std::vector<std::string> notes;
    loader::UniqueFd hand_off = loader::open_pinned(pins_.tc_uplink_prog());
    release_uplinks(nullptr, *meta, {}, hand_off ? loader::program_info(hand_off.get()).id : 0, notes,
                    qdiscs);
  }
  if (after) after(RemovalStep::sandboxes_detached);
  unpin_links("");
  // Unpinning drops the last references: maps and programs are freed by the kernel. The
  // folder itself stays: it carries the writers' lock (loader/pin_folder_lock.h), which the
  // caller holds; removing it would let the next writer in before this one is done.
  if (!std::filesystem::is_directory(pins_.dir, ec)) return;
  for (const auto& entry : std::filesystem::directory_iterator(pins_.dir, ec)) {
    std::filesystem::remove_all(entry.path(), ec);
    if (ec) throw loader::Error("remove pins", ec.value(), entry.path().string());
  }
}

Stats XdpDataplane::stats() {
  Stats out;
  if (!is_complete()) return out;
  Open& open = open_installed();
  for (const auto& [key, fe] : open.maps.frontends()) {
    const pw_traffic t = open.maps.frontend_traffic(fe.id);
    out.frontends[frontend_label(key)] = {t.packets, t.bytes, t.new_flows, t.rejected};
  }
  for (const auto& [key, fe] : open.maps.frontends6()) {
    if (key.kind == PW_FRONTEND_NODE_PORT) continue;  // one id and counters with its IPv4 entry
    const pw_traffic t = open.maps.frontend_traffic(fe.id);
    out.frontends[frontend6_label(key)] = {t.packets, t.bytes, t.new_flows, t.rejected};
  }
  for (const auto& [member, id] : open.view.backend_ids) {
    const pw_traffic t = open.maps.backend_traffic(id);
    std::string set_name;
    for (const auto& [name, set_id] : open.view.set_ids)
      if (set_id == member.first) set_name = name;
    out.backends[set_name + " " + state::to_string(member.second.primary())] = {t.packets, t.bytes, t.new_flows, t.rejected};
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
