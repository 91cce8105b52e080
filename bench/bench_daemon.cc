// The real `portway daemon` at 10,000 Services x 3 ports x 10 backends (docs/performance.md
// "Targets"): its RSS and idle CPU, the full check's duration as the daemon logs it, and the
// time from a committed one-sandbox change to the kernel programmed as the daemon itself
// measures it (its status record's last_change_seconds, the value its portway_sync_seconds
// histogram observes). On xdp also from outside the daemon: for the changes that mark a
// member draining (a third of them), the time from the commit to the kernel's maps holding the
// change (the member's entry and its set's new table), polled by this process.
//
//   build/bench/bench_daemon --dataplane nft|xdp [--changes 1000] [--idle-seconds 30]
//
// Needs root. Everything lives in a network namespace of its own (an uplink veth pair, the nft
// table), a pin folder /sys/fs/bpf/portway-daemon-bench-<pid>, a cgroup and a state folder
// /var/tmp/portway-daemon-bench-<pid> (on disk): all removed at the end, also on error. No
// traffic. The changes are committed with model::set_sandbox_state, the store write
// `portway sandbox set` makes, each on a connection of its own closed after the commit (as the
// CLI's process does); the daemon sees them through its store watch as any writer's.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "agent/sync.h"
#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/pin_layout.h"
#include "loader/lb_maps.h"
#include "bench_fleet_store.h"
#include "dataplane/sync_status.h"
#include "lab/cgroup_dir.h"
#include "netlink/links.h"
#include "store/sqlite_store.h"
#include "support/netns.h"

namespace {

using namespace portway;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int kServices = 10000;

std::string unique_name() { return "portway-daemon-bench-" + std::to_string(getpid()); }

struct Options {
  std::string binary = PORTWAY_BINARY;
  std::string dataplane = "nft";
  int changes = 1000;
  int idle_seconds = 30;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(at, v.size() - 1)];
}

// utime + stime of `pid` in clock ticks (/proc/PID/stat fields 14 and 15, after the comm).
long long cpu_ticks(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

std::string status_field(pid_t pid, const std::string& name) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + ":", 0) == 0) {
      const auto v = line.find_first_not_of(" \t", name.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  return "?";
}

// The daemon, a child of this thread (so in its network namespace): SIGTERM and reaped at the
// end whatever happens.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, const std::string& log) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Daemon() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  pid_t pid() const { return pid_; }
  bool running() { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

// The pins and the state folder, removed at the end (the nft table goes with the namespace).
struct Leftovers {
  config::NodeSettings settings;
  dataplane::Kind kind;
  std::string dir;
  ~Leftovers() {
    try {
      agent::make_dataplane(kind, settings)->remove_all();
    } catch (const std::exception&) {
    }
    std::error_code ec;
    fs::remove_all(settings.bpffs_dir, ec);
    fs::remove_all(dir, ec);
  }
};

std::string node_file(const config::NodeSettings& s, const std::string& dataplane, int resync_seconds,
                      const std::string& dir) {
  std::ostringstream t;
  t << "uplinks = [\"" << s.uplinks.at(0) << "\"]\n"
    << "node_addresses = [\"" << s.node_addresses.at(0) << "\"]\n"
    << "sandbox_interfaces = [\"" << s.sandbox_interfaces.at(0) << "\"]\n"
    << "service_cidr = \"198.18.0.0/15\"\n"
    << "bpffs_dir = \"" << s.bpffs_dir << "\"\n"
    << "cgroup = \"" << s.cgroup << "\"\n"
    << "dataplane = \"" << dataplane << "\"\n"
    << "resync_seconds = " << resync_seconds << "\n"
    << "api_socket = \"" << dir << "/api.sock\"\n"
    << "metrics_address = \"\"\n"
    << "[maps]\n"
    << "frontends = " << s.maps.frontends << "\nbackends = " << s.maps.backends
    << "\nbackend_sets = " << s.maps.backend_sets << "\nconntrack = " << s.maps.conntrack
    << "\nmaglev_slots = " << s.maps.maglev_slots << "\n";
  return t.str();
}

std::optional<dataplane::SyncStatus> sync_status(const std::string& db) {
  try {
    return dataplane::load_sync_status(dataplane::sync_status_path(db));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The kernel's side of a draining change on xdp, read by this process: the member's backend
// id and its set's IPv4 table descriptor are read before the commit (the id found by address,
// the fleet's, bench_snapshot.h), then both are read every 20 us until the entry says draining
// AND the set's table was switched (a draining member leaves the table new flows pick from, so
// its set gets a new descriptor). That is the change fully programmed as a packet sees it.
class KernelDrainWatch {
 public:
  struct Target {
    std::uint32_t id = 0;
    std::uint32_t set_id = 0;
    std::uint64_t descriptor = 0;
  };
  explicit KernelDrainWatch(const std::string& bpffs_dir)
      : pinned_(dataplane::xdp::PinnedLbMaps::open(dataplane::xdp::PinLayout{bpffs_dir})) {
    if (!pinned_) throw std::runtime_error("the fast path is not pinned at " + bpffs_dir);
    maps_.emplace(pinned_->fds());
  }
  std::optional<Target> running(std::uint32_t addr_host) const {
    const auto all = maps_->all_backends();
    for (std::uint32_t id = 0; id < all.size(); ++id)
      if (all[id].addr == htonl(addr_host) && all[id].state == PW_BACKEND_RUNNING)
        return Target{id, all[id].set_id, maps_->backend_set_descriptor(all[id].set_id)};
    return std::nullopt;
  }
  bool programmed(const Target& t) const {
    return maps_->backend(t.id).state == PW_BACKEND_DRAINING &&
           maps_->backend_set_descriptor(t.set_id) != t.descriptor;
  }

 private:
  std::optional<dataplane::xdp::PinnedLbMaps> pinned_;
  std::optional<loader::LbMaps> maps_;
};

// The first "check (...) took T s (read R s, repair P s)" line of the log after `from`.
std::optional<std::smatch> check_line(const std::string& log, std::size_t from, std::string& text) {
  text = slurp(log);
  static const std::regex re(R"(check \(([^)]*)\) took ([0-9.]+) s \(read ([0-9.]+) s, repair ([0-9.]+) s\): ([a-z ]+))");
  std::smatch m;
  if (from < text.size() && std::regex_search(text.cbegin() + static_cast<long>(from), text.cend(), m, re)) return m;
  return std::nullopt;
}

int run(const Options& o) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines as they come, also into a file
  const std::string name = unique_name();
  const std::string dir = "/var/tmp/" + name;
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all);
  const std::string db = dir + "/state.db", node = dir + "/node.toml", log = dir + "/daemon.log";

  config::NodeSettings s;
  s.uplinks = {"pwbup0"};
  s.sandbox_interfaces = {"pwbsb*"};
  s.node_addresses = {"198.19.255.1"};
  s.service_cidr = {net::Ipv4{0xC6120000u}, 15};
  s.bpffs_dir = "/sys/fs/bpf/" + name;
  const std::string cgroup_path = lab::cgroup_path_for(name);
  if (cgroup_path.empty()) throw std::runtime_error("no cgroup v2 hierarchy mounted");
  lab::CgroupDir cgroup(cgroup_path);
  s.cgroup = cgroup.path();
  s.maps.frontends = 65536;
  s.maps.backends = 131072;
  s.maps.backend_sets = 16384;
  s.maps.maglev_slots = 83886080;
  s.maps.conntrack = 1024;

  test::ScopedNetns netns;
  netlink::create_veth("pwbup0", "pwbup1");
  netlink::set_link_up("pwbup0");
  netlink::set_link_up("pwbup1");
  const dataplane::Kind kind = o.dataplane == "xdp" ? dataplane::Kind::xdp : dataplane::Kind::nft;
  Leftovers leftovers{s, kind, dir};

  bench::write_fleet(*store::SqliteStore::open(db), bench::make_snapshot(kServices));
  // The resync timer fires once after the idle window (the check is measured alone), then
  // keeps firing during the changes: they must not wait for it.
  const int resync = o.idle_seconds + 15;
  {
    std::ofstream(node) << node_file(s, o.dataplane, resync, dir);
    ::chmod(node.c_str(), 0600);
  }

  const auto t0 = Clock::now();
  Daemon d({o.binary, "daemon", "--state", db, "--node", node}, log);
  std::optional<dataplane::SyncStatus> st;
  while (Clock::now() - t0 < 600s) {
    st = sync_status(db);
    if (st && st->daemon_pid == d.pid() && st->ready) break;
    if (!d.running()) throw std::runtime_error("the daemon exited: " + slurp(log));
    std::this_thread::sleep_for(20ms);
  }
  if (!st || !st->ready) throw std::runtime_error("the daemon did not become ready in 600 s: " + slurp(log));
  const double ready_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("dataplane %s, %d Services x 3 ports x %d backends\n", o.dataplane.c_str(), kServices, bench::kBackends);
  std::printf("start to programmed (store read, compile, full sync): %.2f s\n", ready_s);
  std::printf("RSS after start: VmRSS %s, VmHWM %s\n", status_field(d.pid(), "VmRSS").c_str(),
              status_field(d.pid(), "VmHWM").c_str());

  const long long ticks0 = cpu_ticks(d.pid());
  const auto idle0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(o.idle_seconds));
  const double idle_s = std::chrono::duration<double>(Clock::now() - idle0).count();
  const double idle_cpu = static_cast<double>(cpu_ticks(d.pid()) - ticks0) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::printf("idle CPU over %.0f s (no check in the window): %.3f s = %.2f %% of a core\n", idle_s, idle_cpu,
              100.0 * idle_cpu / idle_s);

  std::string text;
  const std::size_t log_mark = slurp(log).size();
  std::optional<std::smatch> check;
  const auto check_wait = Clock::now();
  while (!(check = check_line(log, log_mark, text)) && Clock::now() - check_wait < 300s)
    std::this_thread::sleep_for(100ms);
  if (check)
    std::printf("full check (%s) through the daemon: %s s (read %s s on the worker thread, repair %s s on the loop): %s\n",
                (*check)[1].str().c_str(), (*check)[2].str().c_str(), (*check)[3].str().c_str(),
                (*check)[4].str().c_str(), (*check)[5].str().c_str());
  else
    std::printf("full check: no check line in the daemon's log within 300 s\n");
  std::printf("RSS after the check: VmRSS %s, VmHWM %s\n", status_field(d.pid(), "VmRSS").c_str(),
              status_field(d.pid(), "VmHWM").c_str());

  std::vector<double> daemon_ms, wall_ms, kernel_ms;
  int missed = 0, kernel_missed = 0;
  std::optional<KernelDrainWatch> kernel;
  if (kind == dataplane::Kind::xdp) kernel.emplace(s.bpffs_dir);
  const auto series0 = Clock::now();
  for (int n = 0; n < o.changes; ++n) {
    std::optional<KernelDrainWatch::Target> drain;
    if (kernel && bench::kChangeCycle[n % 3] == store::SandboxState::draining) {
      const auto index = static_cast<std::uint32_t>(bench::changed_sandbox(kServices, n));
      drain = kernel->running(0xC6124000u + index);
      if (!drain) ++kernel_missed;
    }
    // One connection per change, closed after the commit, as a `portway sandbox set` process
    // does: the daemon's store watch sees the close (a long-lived writer's commit can wake it
    // before the commit is visible; see docs/performance.md).
    std::uint64_t generation = 0;
    {
      auto writer = store::SqliteStore::open(db, {.create = false});
      bench::commit_sandbox_change(*writer, kServices, n);
      generation = writer->begin_read()->generation();
    }
    const auto committed = Clock::now();
    if (drain) {
      while (!kernel->programmed(*drain) && Clock::now() - committed < 30s) std::this_thread::sleep_for(20us);
      if (kernel->programmed(*drain))
        kernel_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - committed).count());
      else
        ++kernel_missed;
    }
    std::optional<dataplane::SyncStatus> now;
    while (Clock::now() - committed < 30s) {
      now = sync_status(db);
      if (now && now->programmed_generation >= generation) break;
      std::this_thread::sleep_for(100us);
    }
    if (!now || now->programmed_generation < generation) {
      ++missed;
      continue;
    }
    wall_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - committed).count());
    daemon_ms.push_back(now->last_change_seconds * 1000.0);
    // Growth or a plateau: RSS after every thousand changes of a longer series.
    if ((n + 1) % 1000 == 0 && n + 1 < o.changes)
      std::printf("RSS after %d changes: VmRSS %s, VmHWM %s\n", n + 1, status_field(d.pid(), "VmRSS").c_str(),
                  status_field(d.pid(), "VmHWM").c_str());
  }
  const double series_s = std::chrono::duration<double>(Clock::now() - series0).count();
  text = slurp(log);
  std::size_t checks_during = 0;
  for (std::size_t at = log_mark; (at = text.find(" took ", at)) != std::string::npos; ++at) ++checks_during;
  std::printf("%d one-sandbox changes in %.1f s (%zu checks logged since the idle window; %d not programmed within 30 s)\n",
              o.changes, series_s, checks_during, missed);
  std::printf("  change -> kernel as the daemon measures it: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
              percentile(daemon_ms, 0.5), percentile(daemon_ms, 0.99), percentile(daemon_ms, 1.0));
  std::printf("  commit -> status record shows it (this process, polling): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
              percentile(wall_ms, 0.5), percentile(wall_ms, 0.99), percentile(wall_ms, 1.0));
  if (kernel)
    std::printf("  commit -> kernel programmed: member draining + its set's table switched (this process, polling the maps; %zu draining changes, %d not seen): "
                "p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                kernel_ms.size(), kernel_missed, percentile(kernel_ms, 0.5), percentile(kernel_ms, 0.99),
                percentile(kernel_ms, 1.0));
  std::printf("RSS after the changes: VmRSS %s, VmHWM %s\n", status_field(d.pid(), "VmRSS").c_str(),
              status_field(d.pid(), "VmHWM").c_str());
  if (!d.running()) throw std::runtime_error("the daemon died: " + slurp(log));
  return missed == 0 && kernel_missed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--dataplane") o.dataplane = value();
      else if (a == "--changes") o.changes = std::stoi(value());
      else if (a == "--idle-seconds") o.idle_seconds = std::stoi(value());
      else if (a == "--portway") o.binary = value();
      else throw std::invalid_argument("unknown argument " + a);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_daemon: %s\nusage: bench_daemon [--dataplane nft|xdp] [--changes N] "
                           "[--idle-seconds S] [--portway PATH]\n", e.what());
      return 2;
    }
  }
  if (o.dataplane != "nft" && o.dataplane != "xdp") {
    std::fprintf(stderr, "bench_daemon: --dataplane must be nft or xdp\n");
    return 2;
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "bench_daemon: needs root (a network namespace, CAP_BPF, CAP_NET_ADMIN)\n");
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_daemon: %s\n", e.what());
    return 2;
  }
}
