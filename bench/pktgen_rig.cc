// The packet rig, one command (docs/performance.md "Packet rig"): generator -> node (the
// dataplane under test) -> two sinks, every variant in one run, interleaved round by round,
// medians and ratios. Root. Example:
//   build/bench/pktgen_rig --rounds 5 --seconds 2 --json
// The generator sends with live frames where the kernel runs them, else from a packet socket
// (--engine picks one).
// With --native-sinks the sinks give the sandbox veths NAPI (XDP redirect possible); without,
// they count at the sandbox end's tc ingress and the veths stay at kernel defaults.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "rig/rig_run.h"

namespace {

using portway::rig::Measurement;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
  // The library's log lines (kernel probes, the dataplane's notes) with the progress on
  // stderr: stdout carries only the result, which --json makes a document.
  spdlog::set_default_logger(spdlog::stderr_color_mt("pktgen_rig"));
  CLI::App app("The packet rig: generator -> node -> two sinks; every variant in one run, interleaved");
  portway::rig::RigOptions o;
  o.prefix = "pwrig" + std::to_string(getpid());
  bool json = false;
  app.add_option("--rounds", o.rounds, "rounds; each runs every variant once (medians over rounds)")->capture_default_str();
  app.add_option("--seconds", o.seconds, "seconds per measurement")->capture_default_str();
  app.add_option("--warmup", o.warmup_seconds, "seconds of warm-up before established variants")->capture_default_str();
  app.add_option("--flows", o.flows, "flows of the established variants")->capture_default_str();
  app.add_option("--conntrack", o.conntrack, "connections the fast path's tables hold (the node setting maps.conntrack)")
      ->check(CLI::Range(1u, 1u << 24))
      ->capture_default_str();
  app.add_option("--size", o.frame_size, "frame size in bytes, without FCS")->capture_default_str();
  app.add_option("--cpu", o.cpu, "the CPU of generator, node and sinks (default: the first allowed)");
  app.add_option("--prefix", o.prefix, "name prefix of the namespaces, pin folder and cgroup")->capture_default_str();
  app.add_flag("--native-sinks", o.native_sinks,
               "sinks in driver XDP mode (the sandbox veths then take XDP redirects; default: tc "
               "sinks, veths at kernel defaults)");
  std::string engine = "auto";
  app.add_option("--engine", engine,
                 "the generator's engine: auto (live-frames where the kernel runs them, else xdp-loop), "
                 "live-frames, packet-socket or xdp-loop")
      ->check(CLI::IsMember({"auto", "live-frames", "packet-socket", "xdp-loop"}))
      ->capture_default_str();
  app.add_option("--only", o.only, "measure only these variants (e.g. for perf record)")->delimiter(',');
  app.add_flag("--json", json, "print the result as JSON on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.engine = engine == "live-frames"     ? portway::pktgen::Engine::live_frames
             : engine == "packet-socket" ? portway::pktgen::Engine::packet_socket
             : engine == "xdp-loop"      ? portway::pktgen::Engine::xdp_loop
                                         : portway::pktgen::Engine::automatic;
  if (geteuid() != 0) {
    std::cerr << "pktgen_rig: needs root (namespaces, XDP, nftables)\n";
    return 2;
  }

  const std::string load_before = loadavg();
  portway::rig::RigResult r;
  try {
    r = portway::rig::run_rig(o, [](const std::string& line) { std::cerr << line << "\n"; });
  } catch (const std::exception& e) {
    std::cerr << "pktgen_rig: " << e.what() << "\n";
    return 2;
  }
  const std::string load_after = loadavg();

  nlohmann::json variants = nlohmann::json::object();
  std::map<std::string, double> med;
  for (const auto& name : portway::rig::kVariants) {
    const auto& runs = r.runs[name];
    std::vector<double> off, del, loss_frac;
    nlohmann::json rows = nlohmann::json::array();
    for (const Measurement& m : runs) {
      off.push_back(m.offered_pps());
      del.push_back(m.delivered_pps());
      loss_frac.push_back(m.offered ? static_cast<double>(m.loss) / static_cast<double>(m.offered) : 0);
      rows.push_back({{"offered", m.offered}, {"delivered", m.delivered}, {"loss", m.loss},
                      {"rx_dropped", m.rx_dropped}, {"seconds", m.seconds}});
    }
    med[name] = median(del);
    variants[name] = {{"offered_pps", median(off)}, {"delivered_pps", median(del)},
                      {"ns_per_frame", med[name] > 0 ? 1e9 / med[name] : 0.0},
                      {"loss_fraction", median(loss_frac)}, {"runs", rows}};
  }
  const auto ratio = [&](const std::string& a, const std::string& b) {
    return med[b] > 0 ? med[a] / med[b] : 0.0;
  };
  // Generator, node and sinks share one CPU and the generator waits for nothing, so a
  // variant's time per frame is the whole pipeline's: the generator and the first hop (what
  // xdp_drop costs) plus the node's own work. b's node work over a's, with the common part
  // taken out: how much more the node spends per frame with b. 0 when either is not above
  // the first hop (docs/performance.md "Packet rig").
  const auto above_first_hop = [&](const std::string& a, const std::string& b) {
    if (med[a] <= 0 || med[b] <= 0 || med["xdp_drop"] <= 0) return 0.0;
    const double hop = 1e9 / med["xdp_drop"], ns_a = 1e9 / med[a] - hop, ns_b = 1e9 / med[b] - hop;
    return ns_a > 0 && ns_b > 0 ? ns_b / ns_a : 0.0;
  };
  // The ceiling is the cheapest delivery the sandbox veths can take: an XDP redirect when the
  // sinks give them NAPI, the tc redirect at kernel defaults.
  const std::string ceiling = o.native_sinks ? "redirect" : "tc_redirect";
  const nlohmann::json ratios{
      {"ceiling", ceiling},
      {"xdp_established_vs_ceiling", ratio("portway_xdp_established", ceiling)},
      {"xdp_new_vs_ceiling", ratio("portway_xdp_new", ceiling)},
      {"xdp_vs_nft_established", ratio("portway_xdp_established", "portway_nft_established")},
      {"xdp_vs_nft_new", ratio("portway_xdp_new", "portway_nft_new")},
      {"xdp6_established_vs_ceiling", ratio("portway_xdp6_established", ceiling)},
      {"xdp6_new_vs_ceiling", ratio("portway_xdp6_new", ceiling)},
      {"xdp6_vs_nft6_established", ratio("portway_xdp6_established", "portway_nft6_established")},
      {"xdp6_vs_nft6_new", ratio("portway_xdp6_new", "portway_nft6_new")},
      {"xdp6_vs_xdp_established", ratio("portway_xdp6_established", "portway_xdp_established")},
      {"tc_redirect_peer_vs_tc_redirect", ratio("tc_redirect_peer", "tc_redirect")},
      {"ceiling_vs_first_hop", ratio(ceiling, "xdp_drop")},
      // The most any program at the node could reach against nftables in this run: the first
      // hop's limit (a program that drops everything) and the ceiling (one that delivers with
      // no lookup). xdp / nft cannot exceed them (docs/performance.md, "What bounds xdp / nft").
      {"first_hop_vs_nft_established", ratio("xdp_drop", "portway_nft_established")},
      {"ceiling_vs_nft_established", ratio(ceiling, "portway_nft_established")},
      {"ceiling_vs_nft_new", ratio(ceiling, "portway_nft_new")},
      {"xdp_vs_nft_established_above_first_hop",
       above_first_hop("portway_xdp_established", "portway_nft_established")},
      {"xdp_vs_nft_new_above_first_hop", above_first_hop("portway_xdp_new", "portway_nft_new")},
      {"xdp6_vs_nft6_established_above_first_hop",
       above_first_hop("portway_xdp6_established", "portway_nft6_established")},
      {"xdp6_vs_nft6_new_above_first_hop", above_first_hop("portway_xdp6_new", "portway_nft6_new")},
  };
  if (json) {
    std::cout << nlohmann::json{{"rounds", o.rounds},         {"seconds", o.seconds},   {"frame_size", o.frame_size},
                                {"flows", o.flows}, {"conntrack", o.conntrack},           {"cpu", r.cpu},           {"native_sinks", o.native_sinks}, {"engine", portway::pktgen::engine_name(r.engine)}, {"new_flow_fill", r.fill_frames},           {"loadavg_before", load_before},
                                {"loadavg_after", load_after}, {"variants", variants}, {"ratios", ratios}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf("%-26s %14s %14s %10s\n", "variant (median)", "offered Mpps", "delivered Mpps", "loss");
  for (const auto& name : portway::rig::kVariants)
    if (!r.runs[name].empty())
      std::printf("%-26s %14.3f %14.3f %9.1f%%\n", name.c_str(), variants[name]["offered_pps"].get<double>() / 1e6,
                variants[name]["delivered_pps"].get<double>() / 1e6,
                variants[name]["loss_fraction"].get<double>() * 100);
  for (const auto& [k, v] : ratios.items())
    if (v.is_number()) std::printf("%-32s %.2f\n", k.c_str(), v.get<double>());
  std::printf("ceiling: %s, generator engine: %s\n", ceiling.c_str(), portway::pktgen::engine_name(r.engine));
  std::printf("load average before: %s, after: %s\n", load_before.c_str(), load_after.c_str());
  return 0;
}
