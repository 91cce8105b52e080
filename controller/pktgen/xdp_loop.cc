#include "pktgen/xdp_loop.h"

#include <linux/if_link.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "netlink/links.h"
#include "pktgen/packet_socket.h"

namespace portway::pktgen {
namespace {

// Names unique per process and loop: "pwgl" + the pid's low 16 bits + a sequence, then "a"
// (seeding end) or "b" (looping end); 12 characters (IFNAMSIZ allows 15). No dot: sysctl's
// dotted keys could not name the link's settings.
std::string pair_base() {
  static std::atomic<unsigned> sequence{0};
  char name[16];
  std::snprintf(name, sizeof name, "pwgl%04x%03u", static_cast<unsigned>(::getpid()) & 0xffffu,
                sequence.fetch_add(1) % 1000u);
  return name;
}

// No IPv6 on the seeding end: the stack would send its own frames (router solicitations, MLD
// reports) into the loop's end. The program drops any frame not of the run's length, but an
// MLD report can be exactly that long. A kernel without IPv6 has no such file and sends none.
void quiet_ipv6(const std::string& link) {
  std::ofstream f("/proc/sys/net/ipv6/conf/" + link + "/disable_ipv6");
  if (f) f << "1\n";
}

template <class T>
T load_relaxed(const T& field) {
  return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_relaxed);
}

}  // namespace

XdpLoop::PairGuard::~PairGuard() {
  if (name.empty()) return;
  try {
    netlink::delete_link(name);  // takes its peer and the attachment with it
  } catch (...) {  // best effort on the way out: the names are this process's own
  }
}

XdpLoop::XdpLoop(const portway_pktgen_config& config, unsigned out_ifindex)
    : skel_(PktgenSkeleton::open_and_load([&](struct ::pktgen& s) {
        const_cast<portway_pktgen_config&>(s.rodata->pktgen_config) = config;
      })) {
  if (out_ifindex == 0) throw std::invalid_argument("no interface to send on");
  const std::string base = pair_base();
  seeding_link_ = base + "a";
  looping_link_ = base + "b";
  netlink::create_veth(seeding_link_, looping_link_);
  pair_.name = seeding_link_;
  quiet_ipv6(seeding_link_);
  quiet_ipv6(looping_link_);
  const unsigned seeding = netlink::ifindex_of(seeding_link_);
  const unsigned looping = netlink::ifindex_of(looping_link_);
  if (seeding == 0 || looping == 0) throw std::runtime_error("the loop's veth pair vanished after creation");

  // Written from this namespace: a devmap resolves each ifindex in the writer's namespace.
  const int ports = bpf_map__fd(skel_->maps.pktgen_loop_ports);
  const __u32 out_key = PORTWAY_PKTGEN_LOOP_OUT, back_key = PORTWAY_PKTGEN_LOOP_BACK;
  const __u32 out = out_ifindex;
  // Back to the loop's own end means transmitting on its peer, the seeding end.
  const __u32 back = seeding;
  if (bpf_map_update_elem(ports, &out_key, &out, BPF_ANY) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "put ifindex " + std::to_string(out_ifindex) + " in the loop's devmap");
  if (bpf_map_update_elem(ports, &back_key, &back, BPF_ANY) != 0)
    throw std::system_error(errno, std::generic_category(), "put " + seeding_link_ + " in the loop's devmap");
  // Native mode: veth runs it in its NAPI on XDP frames, which is what lets the turns
  // redirect without an skb.
  attachment_.emplace(static_cast<int>(looping), bpf_program__fd(skel_->progs.pktgen_loop_turn), XDP_FLAGS_DRV_MODE);
  netlink::set_link_up(looping_link_);
  netlink::set_link_up(seeding_link_);
}

XdpLoop::~XdpLoop() {
  // Strands still turning end at the detach or with the pair; stop them first so that none is
  // mid-broadcast towards the receiver when the pair goes.
  stop();
  attachment_.reset();
}

void XdpLoop::start(const LoopRun& run, const std::vector<std::uint8_t>& seed) {
  if (run.limit == 0) throw std::invalid_argument("the loop needs a frame limit");
  if (run.seeds == 0 || run.seeds > 256) throw std::invalid_argument("seeds must be 1..256 (the veth ring)");
  if (run.rate_pps < 0) throw std::invalid_argument("the rate must not be negative");
  portway_pktgen_loop& l = skel_->bss->pktgen_loop;
  if (seeds_ != 0 && !finished()) throw std::logic_error("the loop is still running");
  // No strand turns now, so these plain writes race with nothing; the seeds' sendmmsg below
  // orders them before the first turn.
  const std::uint64_t now_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
  l = portway_pktgen_loop{};
  l.flow = run.flow;
  l.limit = run.limit;
  // steady_clock is CLOCK_MONOTONIC here (libstdc++), the clock of bpf_ktime_get_ns.
  l.deadline_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(run.deadline.time_since_epoch()).count());
  l.interval_ns = run.rate_pps > 0 ? std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(1e9 / run.rate_pps))) : 0;
  l.next_due_ns = now_ns;
  seeds_ = run.seeds;

  PacketSocket socket(netlink::ifindex_of(seeding_link_), run.seeds);
  std::vector<std::uint8_t> frames;
  for (unsigned i = 0; i < run.seeds; ++i) frames.insert(frames.end(), seed.begin(), seed.end());
  std::size_t went = 0;
  // Bounded: a fresh veth takes 256 frames; the retries only cover a moment of ENOBUFS.
  for (int attempt = 0; went < run.seeds && attempt < 1000; ++attempt) {
    went += socket.send(frames.data() + went * seed.size(), seed.size(), run.seeds - went);
    if (went < run.seeds) std::this_thread::yield();
  }
  if (went < run.seeds) {
    stop();
    throw std::system_error(ENOBUFS, std::generic_category(), "seed the XDP loop on " + seeding_link_);
  }
}

std::uint64_t XdpLoop::emitted() const { return load_relaxed(skel_->bss->pktgen_loop.emitted); }

bool XdpLoop::finished() const { return load_relaxed(skel_->bss->pktgen_loop.ended) >= seeds_; }

void XdpLoop::stop() {
  std::atomic_ref<__u32>(skel_->bss->pktgen_loop.stop).store(1, std::memory_order_relaxed);
}

portway_pktgen_loop XdpLoop::state() const {
  const portway_pktgen_loop& l = skel_->bss->pktgen_loop;
  portway_pktgen_loop s{};
  s.flow.frames = load_relaxed(l.flow.frames);
  s.flow.bad_length = load_relaxed(l.flow.bad_length);
  s.flow.next_flow = load_relaxed(l.flow.next_flow);
  s.flow.flow_stride = load_relaxed(l.flow.flow_stride);
  s.limit = l.limit;
  s.deadline_ns = l.deadline_ns;
  s.interval_ns = l.interval_ns;
  s.next_due_ns = load_relaxed(l.next_due_ns);
  s.emitted = load_relaxed(l.emitted);
  s.turns = load_relaxed(l.turns);
  s.idle_turns = load_relaxed(l.idle_turns);
  s.ended = load_relaxed(l.ended);
  s.stop = load_relaxed(l.stop);
  return s;
}

}  // namespace portway::pktgen
