#include "lab/lab.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "agent/reserved_ports.h"
#include "agent/node_dataplane.h"
#include "config/app_parser.h"
#include "config/text_input.h"
#include "dataplane/xdp/xdp_dataplane.h"
#include "lab/cgroup_dir.h"
#include "lab/node_file_writer.h"
#include "lab/ns_process.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "model/app_ops.h"
#include "model/reconcile.h"
#include "model/sandbox_ops.h"
#include "netlink/netns.h"
#include "store/sqlite_store.h"

namespace portway::lab {
namespace fs = std::filesystem;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string state_path(const LabConfig& cfg) { return cfg.dir + "/state.db"; }
std::string pids_path(const LabConfig& cfg) { return cfg.dir + "/pids"; }

struct LabApp {
  std::string file;
  std::string text;
  config::App app;
};

std::vector<LabApp> load_examples(const LabConfig& cfg, const config::NodeSettings& settings) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cfg.examples_dir))
    if (e.path().extension() == ".toml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no app.toml examples in " + cfg.examples_dir);
  std::vector<LabApp> out;
  for (const auto& f : files) {
    const auto read = config::read_config_file(f.string());
    if (read.io_error) throw std::runtime_error(*read.io_error);
    auto parsed = config::parse_app(read.text, f.string(), settings.validation_options());
    if (!parsed.app) throw std::runtime_error(f.string() + " is not valid: " + to_string(parsed.errors.at(0)));
    out.push_back({f.string(), read.text, std::move(*parsed.app)});
  }
  return out;
}

// One sandbox slot per (L4 service, replica): two replicas each, so load balancing shows.
struct PlannedSandbox {
  std::string id, app, service;
  std::vector<std::string> args;  // test-app arguments for this service's ports
};

std::vector<PlannedSandbox> plan_sandboxes(const std::vector<LabApp>& apps) {
  std::vector<PlannedSandbox> out;
  for (const auto& a : apps) {
    for (const auto& svc : a.app.services) {
      if (!svc.l4_service) continue;
      std::vector<std::string> args;
      for (const auto& p : svc.ports) {
        const std::string port = std::to_string(p.port);
        if (p.type == config::PortType::http && svc.port_env == p.port) args.insert(args.end(), {"--http", port});
        else if (p.protocol == config::Protocol::tcp) args.insert(args.end(), {"--tcp", port});
        else args.insert(args.end(), {"--udp", port});
      }
      for (int replica = 0; replica < 2; ++replica)
        out.push_back({a.app.name + "-" + svc.name + "-" + std::to_string(replica), a.app.name, svc.name, args});
    }
  }
  return out;
}

bool wait_answering(const std::string& netns, const std::string& addr, std::uint16_t port, bool udp) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto r = udp ? udp_probe(netns, addr, port, "WHO", std::chrono::milliseconds(200))
                       : tcp_probe(netns, addr, port, "WHO\n", std::chrono::milliseconds(200));
    if (r.status == ProbeStatus::ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

agent::SyncOutcome sync_lab(const LabConfig& cfg, const config::NodeSettings& settings,
                            config::DataplaneChoice choice) {
  agent::NodeDataplane node(settings, choice);
  auto store = store::SqliteStore::open(state_path(cfg), {.create = false});
  std::uint64_t generation = 0;
  const state::DataplaneState desired = agent::compile_store(store.get(), &generation);
  const Topology t = plan_topology({cfg.prefix, 0});
  netlink::NetnsGuard in(t.node_netns);
  agent::SyncOutcome outcome = node.sync(desired, generation);
  agent::reserve_node_ports(desired, agent::reserved_ports_record_path(state_path(cfg)));
  dataplane::save_sync_status(dataplane::sync_status_path(state_path(cfg)),
                              agent::status_of(outcome, choice, now_ms()));
  return outcome;
}

unsigned recorded_sandboxes(const LabConfig& cfg) {
  auto store = store::SqliteStore::open(state_path(cfg), {.create = false});
  auto tx = store->begin_read();
  return static_cast<unsigned>(tx->sandboxes().size());
}

}  // namespace

config::NodeSettings lab_node_settings(const LabConfig& cfg) {
  const Topology t = plan_topology({cfg.prefix, 0});
  config::NodeSettings s;
  s.uplinks = {t.uplink};
  s.node_addresses = {net::to_string(t.node_address), net::to_string(t.node_address6)};
  s.sandbox_interfaces = {"sb*"};
  s.service_cidr = kLabServiceCidr;
  // Dual stack: every Service gets an IPv6 address too, and every sandbox has one.
  s.service_cidr6 = kLabServiceCidr6;
  s.bpffs_dir = "/sys/fs/bpf/portway-" + cfg.prefix;
  // The socket hooks go on a cgroup of the lab's own, never on the host's processes; "" (no
  // cgroup v2 on this machine) leaves the fast path unable to attach them.
  s.cgroup = cgroup_path_for(cfg.prefix);
  // A daemon on the lab node serves its API in the lab's folder (never the node's default
  // socket, which another lab or the host's daemon may hold) and its metrics on the loopback of
  // the lab node's own network namespace (the default metrics_address).
  s.api_socket = cfg.dir + "/api.sock";
  // The capacities the lab's maps are created with; a `portway sync --node` of the lab's node
  // file finds the pinned maps compatible because the file states them all.
  s.maps.frontends = 4096;
  s.maps.backends = 4096;
  s.maps.backend_sets = 1024;
  s.maps.conntrack = 65536;
  s.maps.maglev_slots = 1u << 20;  // 4 MiB: a few Services, tables double-buffered
  return s;
}

LabSummary lab_up(const LabConfig& cfg, config::DataplaneChoice choice) {
  const config::NodeSettings settings = lab_node_settings(cfg);
  if (netlink::named_netns_exists(plan_topology({cfg.prefix, 0}).node_netns) || fs::exists(cfg.dir))
    throw std::runtime_error("a lab named " + cfg.prefix + " is already up (portway lab down first)");
  const std::vector<LabApp> apps = load_examples(cfg, settings);
  const std::vector<PlannedSandbox> planned = plan_sandboxes(apps);

  fs::create_directories(cfg.dir);
  chmod(cfg.dir.c_str(), 0700);
  write_node_file(cfg.dir + "/node.toml", settings);
  if (!settings.cgroup.empty()) CgroupDir(settings.cgroup).release();  // lab down removes it
  const Topology t = build_topology({cfg.prefix, static_cast<unsigned>(planned.size())});

  LabSummary summary;
  {
    auto store = store::SqliteStore::open(state_path(cfg), {.create = true});
    auto tx = store->begin_write();
    const auto pools = model::AddressPools::from(settings);
    for (const auto& a : apps) {
      const auto result = model::apply_app(*tx, a.text, a.app, pools, now_ms());
      ++summary.apps;
      summary.services += static_cast<unsigned>(result.services.size());
    }
    for (std::size_t i = 0; i < planned.size(); ++i) {
      store::SandboxRecord sb;
      sb.id = planned[i].id;
      sb.app = planned[i].app;
      sb.service = planned[i].service;
      sb.labels = {{"lab", cfg.prefix}};
      sb.ipv4 = t.sandboxes[i].address;
      sb.ipv6 = t.sandboxes[i].address6;
      sb.iface = t.sandboxes[i].host_link;
      sb.state = store::SandboxState::running;
      sb.changed_at_ms = now_ms();
      model::add_sandbox(*tx, sb);
    }
    tx->commit();
  }

  std::ofstream pids(pids_path(cfg));
  for (std::size_t i = 0; i < planned.size(); ++i) {
    std::vector<std::string> argv{cfg.testapp, "--id", planned[i].id, "--max-seconds",
                                  std::to_string(cfg.app_lifetime_seconds)};
    argv.insert(argv.end(), planned[i].args.begin(), planned[i].args.end());
    NsProcess app = NsProcess::spawn(t.sandboxes[i].netns, argv, cfg.dir + "/" + planned[i].id + ".log");
    pids << app.release() << "\n";
  }
  pids.close();
  for (std::size_t i = 0; i < planned.size(); ++i) {
    // Ready when its first port answers straight from the client (plain routing).
    const auto& args = planned[i].args;
    const bool udp = args.at(0) == "--udp";
    if (!wait_answering(t.client_netns, net::to_string(t.sandboxes[i].address),
                        static_cast<std::uint16_t>(std::stoi(args.at(1))), udp))
      throw std::runtime_error("test app " + planned[i].id + " did not start (see " + cfg.dir + ")");
  }
  summary.sandboxes = static_cast<unsigned>(planned.size());
  const agent::SyncOutcome outcome = sync_lab(cfg, settings, choice);
  summary.dataplane = std::string(dataplane::to_string(outcome.active));
  summary.reason = outcome.reason;
  return summary;
}

std::vector<std::string> lab_down(const LabConfig& cfg) {
  std::vector<std::string> removed;
  std::ifstream pids(pids_path(cfg));
  for (pid_t pid; pids >> pid;) {
    // Only a pid that is still one of our test apps: a recycled pid is someone else's.
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmd;
    std::getline(cmdline, cmd, '\0');
    if (cmd.find("portway-testapp") == std::string::npos) continue;
    kill(pid, SIGTERM);
    removed.push_back("test app " + std::to_string(pid));
  }
  const config::NodeSettings settings = lab_node_settings(cfg);
  const Topology t = plan_topology({cfg.prefix, 0});
  std::optional<loader::PinFolderLock> lock;
  try {
    lock.emplace(agent::lock_node(settings));
  } catch (const std::exception& e) {
    removed.push_back(std::string("(pin folder lock: ") + e.what() + ")");
  }
  if (lock && netlink::named_netns_exists(t.node_netns)) {
    try {
      netlink::NetnsGuard in(t.node_netns);
      dataplane::xdp::XdpDataplane(settings).remove_all();
    } catch (const std::exception& e) {
      removed.push_back(std::string("(fast path removal: ") + e.what() + ")");
    }
  }
  std::error_code ec;
  if (lock && fs::exists(settings.bpffs_dir, ec)) {
    fs::remove_all(settings.bpffs_dir, ec);
    removed.push_back("pins " + settings.bpffs_dir);
  }
  if (!settings.cgroup.empty() && fs::exists(settings.cgroup, ec)) {
    if (remove_cgroup_dir(settings.cgroup)) removed.push_back("cgroup " + settings.cgroup);
    else removed.push_back("(cgroup " + settings.cgroup + " could not be removed)");
  }
  // The lab never has more sandboxes than the topology allows; destroy every possible slot.
  const unsigned namespaces = destroy_topology({cfg.prefix, 200});
  if (namespaces) removed.push_back(std::to_string(namespaces) + " network namespaces (" + cfg.prefix + "-*)");
  if (fs::exists(cfg.dir, ec)) {
    fs::remove_all(cfg.dir, ec);
    removed.push_back("lab directory " + cfg.dir);
  }
  return removed;
}

std::vector<LabRow> lab_run(const LabConfig& cfg, const std::vector<config::DataplaneChoice>& dataplanes) {
  if (!fs::exists(state_path(cfg))) throw std::runtime_error("no lab is up (portway lab up first)");
  const config::NodeSettings settings = lab_node_settings(cfg);
  const Topology t = plan_topology({cfg.prefix, recorded_sandboxes(cfg)});

  std::vector<store::SandboxRecord> sandboxes;
  state::DataplaneState desired;
  {
    auto store = store::SqliteStore::open(state_path(cfg), {.create = false});
    desired = agent::compile_store(store.get());
    sandboxes = store->begin_read()->sandboxes();
  }
  auto netns_of = [&](const store::SandboxRecord& sb) {
    for (const auto& slot : t.sandboxes)
      if (slot.address == sb.ipv4) return slot.netns;
    throw std::runtime_error("sandbox " + sb.id + " has no lab slot");
  };
  // A sandbox of another Service than `set`: the service-to-service path.
  auto other_sandbox = [&](const std::string& set) -> const store::SandboxRecord& {
    for (const auto& sb : sandboxes)
      if ("svc/" + sb.app + "/" + sb.service != set) return sb;
    return sandboxes.at(0);
  };

  std::vector<LabRow> rows;
  for (const auto choice : dataplanes) {
    const agent::SyncOutcome outcome = sync_lab(cfg, settings, choice);
    const std::string dp(dataplane::to_string(outcome.active));
    auto probe = [&](const std::string& what, config::Protocol proto, const std::string& from,
                     const std::string& netns, const std::string& addr, std::uint16_t port,
                     const state::BackendSet* set, std::uint16_t target) {
      LabRow row;
      row.frontend = what;
      row.protocol = std::string(config::to_string(proto));
      row.from = from;
      row.dataplane = dp;
      auto run = [&] {
        return proto == config::Protocol::udp ? udp_probe(netns, addr, port) : tcp_probe(netns, addr, port);
      };
      // The node's own processes: in the lab's cgroup, where the fast path's socket hooks are.
      const ProbeResult r = from == "node" && !settings.cgroup.empty() ? probe_in_cgroup(settings.cgroup, run) : run();
      WhoAnswer who;
      if (r.status != ProbeStatus::ok) {
        row.result = to_string(r.status) + (r.error.empty() ? "" : " (" + r.error + ")");
      } else if (!parse_who(r.reply, who)) {
        row.result = "unexpected reply";
      } else {
        row.answered_by = who.sandbox;
        row.client_seen = who.client_addr;
        const bool member = set && std::any_of(set->members.begin(), set->members.end(), [&](const state::Member& m) {
                              return std::any_of(sandboxes.begin(), sandboxes.end(), [&](const store::SandboxRecord& sb) {
                                return sb.id == who.sandbox && sb.ipv4 == m.ipv4;
                              });
                            });
        if (!member) row.result = "answered by a sandbox outside the Service";
        else if (who.port != target) row.result = "wrong target port " + std::to_string(who.port);
        else {
          row.result = "ok";
          row.ok = true;
        }
      }
      if (row.answered_by.empty()) row.answered_by = "-";
      if (row.client_seen.empty()) row.client_seen = "-";
      rows.push_back(std::move(row));
    };
    // Every frontend of both families: an IPv6 service address is probed over IPv6.
    for (const auto& f : desired.frontends()) {
      const std::string addr = state::to_string(f.key.address);
      const bool v6 = std::holds_alternative<net::Ipv6>(f.key.address);
      const std::string what = (v6 ? "[" + addr + "]" : addr) + ":" + std::to_string(f.key.port) + " " + f.backend_set + " " + f.port_name;
      const auto* set = desired.find_backend_set(f.backend_set);
      const auto& from = other_sandbox(f.backend_set);
      probe(what, f.key.protocol, "sandbox " + from.id, netns_of(from), addr, f.key.port, set, f.target_port);
      probe(what, f.key.protocol, "node", t.node_netns, addr, f.key.port, set, f.target_port);
    }
    for (const auto& n : desired.node_ports()) {
      const std::string what = "node:" + std::to_string(n.key.node_port) + " " + n.backend_set + " " + n.port_name;
      for (const std::string& node : {net::to_string(t.node_address), net::to_string(t.node_address6)})
        probe(what + " via " + node, n.key.protocol, "client", t.client_netns, node, n.key.node_port,
              desired.find_backend_set(n.backend_set), n.target_port);
    }
  }
  return rows;
}

std::string format_table(const std::vector<LabRow>& rows) {
  const std::vector<std::string> head{"frontend", "proto", "from", "dataplane", "answered by", "client seen", "result"};
  std::vector<std::size_t> width(head.size());
  auto cells = [](const LabRow& r) {
    return std::vector<std::string>{r.frontend, r.protocol, r.from, r.dataplane, r.answered_by, r.client_seen, r.result};
  };
  for (std::size_t i = 0; i < head.size(); ++i) width[i] = head[i].size();
  for (const auto& r : rows) {
    const auto c = cells(r);
    for (std::size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
  }
  auto line = [&](const std::vector<std::string>& c) {
    std::string out;
    for (std::size_t i = 0; i < c.size(); ++i) {
      out += c[i];
      if (i + 1 < c.size()) out += std::string(width[i] - c[i].size() + 2, ' ');
    }
    return out + "\n";
  };
  std::string out = line(head);
  for (const auto& r : rows) out += line(cells(r));
  return out;
}

}  // namespace portway::lab
