// portway pktgen send|sink: the packet generator and the counting sink (docs/performance.md
// "Packet rig"). The library does the work (controller/pktgen); this file turns flags into
// its inputs and its results into lines and JSON.
#include <linux/bpf.h>
#include <net/if.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "netlink/links.h"
#include "pktgen/cpus.h"
#include "pktgen/frame_spec.h"
#include "pktgen/generator.h"
#include "pktgen/netns_enter.h"
#include "pktgen/sink.h"

namespace portway::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<pktgen::Mac> parse_mac(const std::string& s) {
  pktgen::Mac mac{};
  unsigned v[6];
  char tail = 0;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return std::nullopt;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<std::uint8_t>(v[i]);
  return mac;
}

pktgen::Address parse_address(const std::string& s, const char* flag) {
  if (auto v4 = net::parse_ipv4(s)) return *v4;
  if (auto v6 = net::parse_ipv6(s)) return *v6;
  throw RejectedError(std::string(flag) + ": \"" + s + "\" is not an IPv4 or IPv6 address");
}

unsigned require_ifindex(const std::string& dev) {
  const unsigned idx = if_nametoindex(dev.c_str());
  if (idx == 0) throw EnvironmentError("--dev: no interface \"" + dev + "\" in this network namespace");
  return idx;
}

std::string rate_text(double pps) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f Mpps", pps / 1e6);
  return buf;
}

std::chrono::milliseconds seconds_flag(double s, const char* flag) {
  if (!(s > 0) || s > 86400) throw RejectedError(std::string(flag) + " must be in (0, 86400] seconds");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
}

int pktgen_send(std::span<const std::string> args) {
  CommandLine cl("portway pktgen send",
                 "usage: portway pktgen send --dev IF [--netns NS] [FLAGS]\n"
                 "Generate frames out of --dev. Engines: live-frames (BPF_PROG_RUN live frames, XDP_TX to\n"
                 "the veth peer, which needs an XDP program), packet-socket (sendmmsg on an AF_PACKET\n"
                 "socket, for kernels that refuse live frames) or xdp-loop (per thread a veth pair of its\n"
                 "own in the namespace, whose XDP program broadcasts each frame around its loop and out of\n"
                 "--dev: XDP frames without live frames; the peer needs an XDP program, as for live-frames);\n"
                 "auto picks live-frames where the kernel runs them, else packet-socket. Stops after --count\n"
                 "frames or --duration, whichever is first.\n");
  auto& app = cl.app();
  std::string dev, netns, dst_mac_text, src_mac_text, src_text, dst_text, proto = "udp", cpus_text, engine = "auto";
  std::uint32_t src_count = 1, src_port_count = 1024, flows = 0, threads = 0, batch = 64;
  std::uint16_t src_port = 1024, dst_port = 9000, size = 64;
  std::uint64_t count = 0, rate = 0;
  double duration = 10;
  bool new_flows = false, no_stamp = false, json = false;
  app.add_option("--dev", dev, "the generator's end of a veth pair (required)")->required();
  app.add_option("--netns", netns, "network namespace to run in: a name (/run/netns/NAME) or a path");
  app.add_option("--dst-mac", dst_mac_text, "destination MAC, the peer's (required)")->required();
  app.add_option("--src-mac", src_mac_text, "source MAC (default: --dev's own)");
  app.add_option("--dst", dst_text, "destination address, IPv4 or IPv6 (required)")->required();
  app.add_option("--dst-port", dst_port, "destination port")->capture_default_str();
  app.add_option("--src", src_text, "first source address (default 198.18.0.2, or 2001:2::2 for IPv6)");
  app.add_option("--src-count", src_count, "source addresses: --src and the next N-1")->capture_default_str();
  app.add_option("--src-port", src_port, "first source port")->capture_default_str();
  app.add_option("--src-port-count", src_port_count, "source ports: --src-port and the next N-1")
      ->capture_default_str();
  app.add_option("--proto", proto, "udp, tcp-syn (new connections) or tcp-ack (established)")
      ->check(CLI::IsMember({"udp", "tcp-syn", "tcp-ack"}))
      ->capture_default_str();
  app.add_option("--flows", flows, "cycle over the first N (address, port) pairs (0: all of them)")
      ->capture_default_str();
  app.add_flag("--new-flows", new_flows, "a 5-tuple not used before on every frame (until the ranges wrap)");
  app.add_option("--size", size, "Ethernet frame size in bytes, without FCS")->capture_default_str();
  app.add_option("--rate", rate, "at most this many frames per second over all threads (0: no limit)")
      ->capture_default_str();
  app.add_option("--count", count, "stop after this many frames (0: only the duration)")->capture_default_str();
  app.add_option("--duration", duration, "stop after this many seconds")->capture_default_str();
  app.add_option("--threads", threads, "threads, one per CPU (default: every CPU allowed)");
  app.add_option("--cpus", cpus_text, "CPUs to run on, e.g. 0 or 0,2-3 (default: every CPU allowed)");
  app.add_option("--batch", batch, "frames per kernel batch, 1..256")->capture_default_str();
  app.add_option("--engine", engine, "auto, live-frames, packet-socket or xdp-loop")
      ->check(CLI::IsMember({"auto", "live-frames", "packet-socket", "xdp-loop"}))
      ->capture_default_str();
  app.add_flag("--no-stamp", no_stamp, "leave out the send timestamp (no latency at the sink)");
  app.add_flag("--json", json, "print the summary as JSON: {sent, seconds, pps, threads, engine}");
  if (auto rc = cl.parse(args)) return *rc;

  pktgen::FrameSpec spec;
  spec.dst = parse_address(dst_text, "--dst");
  const bool v6 = std::holds_alternative<net::Ipv6>(spec.dst);
  spec.src = src_text.empty() ? (v6 ? pktgen::Address{*net::parse_ipv6("2001:2::2")} : pktgen::Address{net::Ipv4{0xC6120002u}})
                              : parse_address(src_text, "--src");
  const auto dst_mac = parse_mac(dst_mac_text);
  if (!dst_mac) throw RejectedError("--dst-mac: \"" + dst_mac_text + "\" is not a MAC address (aa:bb:cc:dd:ee:ff)");
  spec.dst_mac = *dst_mac;
  spec.l4 = proto == "udp" ? pktgen::L4::udp : proto == "tcp-syn" ? pktgen::L4::tcp_syn : pktgen::L4::tcp_ack;
  spec.src_count = src_count;
  spec.src_port = src_port;
  spec.src_port_count = src_port_count;
  spec.dst_port = dst_port;
  spec.frame_size = size;
  spec.flows = flows;
  spec.new_flow_per_frame = new_flows;
  spec.stamp = !no_stamp;

  pktgen::SendPlan plan;
  plan.count = count;
  plan.duration = seconds_flag(duration, "--duration");
  plan.rate_pps = rate;
  plan.batch_size = batch;
  plan.engine = engine == "live-frames"     ? pktgen::Engine::live_frames
                : engine == "packet-socket" ? pktgen::Engine::packet_socket
                : engine == "xdp-loop"      ? pktgen::Engine::xdp_loop
                                            : pktgen::Engine::automatic;
  try {
    plan.cpus = cpus_text.empty() ? pktgen::allowed_cpus() : pktgen::parse_cpu_list(cpus_text);
  } catch (const std::invalid_argument& e) {
    throw RejectedError(std::string("--cpus: ") + e.what());
  }
  if (threads != 0) {
    if (threads > plan.cpus.size())
      throw RejectedError("--threads " + std::to_string(threads) + ": only " + std::to_string(plan.cpus.size()) +
                          " CPUs to run on");
    plan.cpus.resize(threads);
  }

  const pktgen::NetnsEnter in(netns);  // before the threads start: they inherit it
  plan.ifindex = require_ifindex(dev);
  if (src_mac_text.empty()) {
    spec.src_mac = netlink::mac_address(dev);
  } else {
    const auto src_mac = parse_mac(src_mac_text);
    if (!src_mac) throw RejectedError("--src-mac: \"" + src_mac_text + "\" is not a MAC address");
    spec.src_mac = *src_mac;
  }
  std::optional<pktgen::Generator> gen;
  try {
    gen.emplace(spec);
  } catch (const std::invalid_argument& e) {
    throw RejectedError(e.what());
  }
  const auto result = gen->send(plan, [](const pktgen::SendProgress& p) {
    std::cerr << "pktgen send: " << static_cast<int>(std::lround(p.seconds)) << " s  sent " << p.sent << "  "
              << rate_text(static_cast<double>(p.sent) / p.seconds) << "\n";
  });
  if (gen->bad_length() != 0)
    throw EnvironmentError("the generator refused " + std::to_string(gen->bad_length()) + " frames of the wrong size");
  if (json) {
    std::cout << nlohmann::json{{"sent", result.sent}, {"seconds", result.seconds}, {"pps", result.pps()},
                                {"threads", result.threads}, {"engine", pktgen::engine_name(result.engine)},
                                {"calls", result.calls}}
                     .dump()
              << "\n";
  } else {
    std::cout << "sent " << result.sent << " frames in " << result.seconds << " s: " << rate_text(result.pps())
              << " (" << result.threads << " threads, " << pktgen::engine_name(result.engine) << ")\n";
  }
  return kExitOk;
}

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

int pktgen_sink(std::span<const std::string> args) {
  CommandLine cl("portway pktgen sink",
                 "usage: portway pktgen sink --dev IF [--netns NS] [FLAGS]\n"
                 "Count (and drop) the frames arriving on --dev with an XDP program; per-second rate on\n"
                 "stderr, a summary at the end. Stops after --duration, --count frames, --idle seconds\n"
                 "without a frame, or SIGINT/SIGTERM.\n");
  auto& app = cl.app();
  std::string dev, netns;
  double duration = 10, idle = 0;
  std::uint64_t count = 0;
  bool flows = false, no_latency = false, generic = false, json = false;
  app.add_option("--dev", dev, "interface to count on (required)")->required();
  app.add_option("--netns", netns, "network namespace to run in: a name (/run/netns/NAME) or a path");
  app.add_option("--duration", duration, "stop after this many seconds")->capture_default_str();
  app.add_option("--count", count, "stop once this many frames arrived (0: no such bound)")->capture_default_str();
  app.add_option("--idle", idle, "stop this many seconds after the last frame, once one arrived (0: off)")
      ->capture_default_str();
  app.add_flag("--flows", flows, "count distinct 5-tuples (up to 65,536)");
  app.add_flag("--no-latency", no_latency, "do not read the generator's timestamps");
  app.add_flag("--generic", generic, "attach in generic (skb) mode instead of the driver's");
  app.add_flag("--json", json,
               "print the summary as JSON: {received, seconds, pps, bytes, runts, latency_ns, flows}");
  if (auto rc = cl.parse(args)) return *rc;
  const auto limit = seconds_flag(duration, "--duration");
  if (idle < 0 || idle > 86400) throw RejectedError("--idle must be in [0, 86400] seconds");

  const pktgen::NetnsEnter in(netns);
  pktgen::Sink sink(require_ifindex(dev), {.latency = !no_latency, .flows = flows, .generic = generic});
  g_stop = false;
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // Sampled every 10 ms: the receive window runs from the last sample that saw nothing to the
  // first sample that saw the final count (so it over-estimates by at most two samples).
  const auto start = Clock::now();
  const auto deadline = start + limit;
  auto next_report = start + std::chrono::seconds(1);
  std::uint64_t last = 0, at_last_report = 0;
  auto window_start = start, last_change = start;
  bool started = false;
  // Bounded by the deadline.
  while (!g_stop && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto now = Clock::now();
    const std::uint64_t n = sink.packets();
    if (n != last) {
      if (!started) started = true;
      last = n;
      last_change = now;
    } else if (!started) {
      window_start = now;
    }
    if (now >= next_report) {
      std::cerr << "pktgen sink: " << (next_report - start) / std::chrono::seconds(1) << " s  received " << n
                << "  " << rate_text(static_cast<double>(n - at_last_report)) << "\n";
      at_last_report = n;
      next_report += std::chrono::seconds(1);
    }
    if (count != 0 && n >= count) break;
    if (idle > 0 && started && now - last_change >= std::chrono::duration<double>(idle)) break;
  }
  const auto r = sink.read();
  const double seconds = started ? std::chrono::duration<double>(last_change - window_start).count() : 0;
  const double pps = seconds > 0 ? static_cast<double>(r.packets) / seconds : 0;
  if (json) {
    nlohmann::json latency = nullptr;
    if (r.latency)
      latency = {{"stamped", r.latency->stamped}, {"mean", r.latency->mean_ns}, {"p50", r.latency->p50_ns},
                 {"p90", r.latency->p90_ns},      {"p99", r.latency->p99_ns},   {"p999", r.latency->p999_ns},
                 {"max", r.latency->max_ns}};
    nlohmann::json out{{"received", r.packets}, {"seconds", seconds}, {"pps", pps},          {"bytes", r.bytes},
                       {"runts", r.runts},      {"latency_ns", latency}, {"flows", nullptr}};
    if (r.flows) out["flows"] = *r.flows;
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "received " << r.packets << " frames in " << seconds << " s: " << rate_text(pps) << "\n";
    if (r.latency)
      std::cout << "latency ns: p50 " << r.latency->p50_ns << "  p90 " << r.latency->p90_ns << "  p99 "
                << r.latency->p99_ns << "  p99.9 " << r.latency->p999_ns << "  max " << r.latency->max_ns << " ("
                << r.latency->stamped << " stamped frames)\n";
    if (r.flows) std::cout << "distinct flows: " << *r.flows << "\n";
  }
  return kExitOk;
}

}  // namespace

int cmd_pktgen(std::span<const std::string> args) {
  const std::string usage =
      "usage: portway pktgen send|sink [FLAGS]   (portway pktgen send --help, portway pktgen sink --help)\n";
  // Flags before the subcommand: the conventions every command follows (-h, --version, -v).
  if (args.empty() || args[0].starts_with('-')) {
    CommandLine cl("portway pktgen", usage);
    if (const auto exit_code = cl.parse(args)) return *exit_code;
    std::cerr << "portway pktgen: no subcommand given\n" << usage;
    return kExitEnvironment;
  }
  if (args[0] == "send") return pktgen_send(args.subspan(1));
  if (args[0] == "sink") return pktgen_sink(args.subspan(1));
  std::cerr << "portway pktgen: unknown subcommand \"" << args[0] << "\"\n" << usage;
  return kExitEnvironment;
}

}  // namespace portway::cli
