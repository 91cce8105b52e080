// `portway pktgen send|sink` end to end through the binary: the --json summaries' exact keys,
// the counts agreeing, and the exit codes of bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>

#include "live_frames.h"
#include "support/run_command.h"
#include "support/root.h"
#include "veth_pair.h"

namespace portway::test {
namespace {

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

std::string mac_text(const pktgen::Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

// Until the sink's program is on its link (at most 5 s).
bool wait_for_xdp(const std::string& netns, const std::string& link) {
  for (int i = 0; i < 100; ++i) {
    if (run_command("ip -n " + netns + " -d link show " + link + " | grep -q 'prog/xdp'").status == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// `portway pktgen sink` on the pair's sink end with `flags`, once its program is attached.
RunningCommand start_sink(const VethPair& pair, const std::string& flags) {
  RunningCommand sink(std::string(PORTWAY_BINARY) + " pktgen sink --netns " + pair.sink_netns() + " --dev " +
                      VethPair::kSinkLink + " --idle 1 --duration 30 " + flags);
  EXPECT_TRUE(wait_for_xdp(pair.sink_netns(), VethPair::kSinkLink));
  return sink;
}

// `portway pktgen send` from the pair's generator end (netns given as `netns_prefix` + name)
// to the sink's MAC, with `flags`.
CommandResult send_to_sink(const VethPair& pair, const std::string& netns_prefix, const std::string& flags) {
  return run_command(std::string(PORTWAY_BINARY) + " pktgen send --netns " + netns_prefix + pair.gen_netns() +
                     " --dev " + VethPair::kGenLink + " --dst-mac " + mac_text(pair.sink_mac()) + " " + flags);
}

class PktgenCli : public ::testing::Test {
 protected:
  void SetUp() override { PORTWAY_REQUIRE_ROOT(); }
};

// With the engine left to `auto`: live frames where the kernel runs them, else the packet
// socket, and the summary says which.
TEST_F(PktgenCli, SendAndSinkJsonHaveExactlyTheDocumentedKeysAndAgree) {
  const VethPair pair("j");
  RunningCommand sink = start_sink(pair, "--flows --json");
  const auto send =
      send_to_sink(pair, "/run/netns/", "--dst 198.19.0.1 --size 80 --count 5000 --cpus 0 --flows 50 --json");
  ASSERT_EQ(send.status, 0) << send.out;
  const auto got = sink.finish();
  ASSERT_EQ(got.status, 0) << got.out;

  const auto s = nlohmann::json::parse(send.out);
  EXPECT_EQ(keys(s), (std::set<std::string>{"sent", "seconds", "pps", "threads", "engine", "calls"}));
  EXPECT_EQ(s["engine"], loader::xdp_live_frames_supported() ? "live-frames" : "packet-socket");
  EXPECT_EQ(s["sent"], 5000);
  EXPECT_EQ(s["threads"], 1);
  EXPECT_GE(s["calls"].get<int>(), 1);  // 5,000 frames: the first call's 8,192 covers them
  const auto k = nlohmann::json::parse(got.out);
  EXPECT_EQ(keys(k), (std::set<std::string>{"received", "seconds", "pps", "bytes", "runts", "latency_ns", "flows"}));
  EXPECT_EQ(k["received"], 5000);
  EXPECT_EQ(k["bytes"], 5000 * 80);
  EXPECT_EQ(k["flows"], 50);
  EXPECT_GT(k["pps"].get<double>(), 0);
  ASSERT_TRUE(k["latency_ns"].is_object());
  EXPECT_EQ(keys(k["latency_ns"]), (std::set<std::string>{"stamped", "mean", "p50", "p90", "p99", "p999", "max"}));
  EXPECT_EQ(k["latency_ns"]["stamped"], 5000);
  EXPECT_LE(k["latency_ns"]["p50"].get<std::uint64_t>(), k["latency_ns"]["p99"].get<std::uint64_t>());
}

// Each engine asked for by name sends with that engine (the packet socket and the XDP loop on
// every kernel; live frames are covered by the send tests where the kernel runs them).
TEST_F(PktgenCli, TheEngineAskedForIsTheEngineThatSends) {
  for (const std::string engine : {"packet-socket", "xdp-loop"}) {
    SCOPED_TRACE(engine);
    const VethPair pair("e" + engine.substr(0, 1));
    RunningCommand sink = start_sink(pair, "--no-latency --json");
    const auto send = send_to_sink(pair, "", "--dst 198.19.0.1 --count 300 --cpus 0 --engine " + engine + " --json");
    ASSERT_EQ(send.status, 0) << send.out;
    const auto got = sink.finish();
    ASSERT_EQ(got.status, 0) << got.out;
    EXPECT_EQ(nlohmann::json::parse(send.out)["engine"], engine);
    EXPECT_EQ(nlohmann::json::parse(got.out)["received"], 300);
  }
}

// Links of the XDP-loop engine's pairs left in the namespace `netns`.
int loop_pairs_left(const std::string& netns) {
  const auto r = run_command("ip -n " + netns + " -o link show | grep -c ' pwgl'");
  return std::atoi(r.out.c_str());
}

// Two XDP-loop senders at once into one pair, from one namespace: each its own loop (pair names
// carry the pid), both exit 0, the sink counts both, and neither leaves a pair behind.
TEST_F(PktgenCli, TwoXdpLoopSendersAtOnceEachSendTheirCountAndLeaveNothing) {
  const VethPair pair("xc");
  RunningCommand sink = start_sink(pair, "--no-latency --json");
  const std::string flags = "--dst 198.19.0.1 --count 3000 --rate 20000 --cpus 0 --engine xdp-loop --json";
  const std::string cmd = std::string(PORTWAY_BINARY) + " pktgen send --netns " + pair.gen_netns() + " --dev " +
                          VethPair::kGenLink + " --dst-mac " + mac_text(pair.sink_mac()) + " " + flags;
  RunningCommand first(cmd), second(cmd);
  const auto a = first.finish(), b = second.finish();
  ASSERT_EQ(a.status, 0) << a.out;
  ASSERT_EQ(b.status, 0) << b.out;
  EXPECT_EQ(nlohmann::json::parse(a.out)["sent"], 3000);
  EXPECT_EQ(nlohmann::json::parse(b.out)["sent"], 3000);
  const auto got = sink.finish();
  ASSERT_EQ(got.status, 0) << got.out;
  EXPECT_EQ(nlohmann::json::parse(got.out)["received"], 6000);
  EXPECT_EQ(loop_pairs_left(pair.gen_netns()), 0);
}

// SIGKILL in the middle of a send: the loop's own deadline (the program's, not the process's)
// ends it, so the sink goes idle and counts no more than the rate allowed for the duration.
// The killed process cannot remove its pair; it stays, idle, until the namespace goes
// (docs/performance.md "The XDP-loop engine").
TEST_F(PktgenCli, AKilledXdpLoopSenderStopsSendingAtItsDeadline) {
  const VethPair pair("xk");
  RunningCommand sink = start_sink(pair, "--no-latency --json");
  const auto killed = run_command("timeout -s KILL 0.4 " + std::string(PORTWAY_BINARY) + " pktgen send --netns " +
                                  pair.gen_netns() + " --dev " + VethPair::kGenLink + " --dst-mac " +
                                  mac_text(pair.sink_mac()) +
                                  " --dst 198.19.0.1 --rate 20000 --duration 1.5 --cpus 0 --engine xdp-loop");
  EXPECT_NE(killed.status, 0) << "the sender was to be killed mid-run";
  // The sink ends 1 s after the last frame (--idle 1); a loop turning past its deadline would
  // keep it until its own --duration (30 s) and far above 1.5 s x 20,000 frames.
  const auto got = sink.finish();
  ASSERT_EQ(got.status, 0) << got.out;
  const auto received = nlohmann::json::parse(got.out)["received"].get<std::uint64_t>();
  EXPECT_GT(received, 0u);
  EXPECT_LE(received, 30000u + 200u);
  EXPECT_LT(nlohmann::json::parse(got.out)["seconds"].get<double>(), 5.0);
  EXPECT_EQ(loop_pairs_left(pair.gen_netns()), 2) << "the killed sender's pair, both ends";
}

// On a kernel that refuses live frames, asking for them by name says so (not "needs root") and
// exits 2, an environment error (docs/cli.md, "Exit codes"), before any frame is sent (the
// --dev here is the host's loopback: nothing may go out of it).
TEST_F(PktgenCli, LiveFramesSayWhenTheKernelRefusesThem) {
  if (loader::xdp_live_frames_supported()) GTEST_SKIP() << "this kernel runs live frames: the send tests cover them";
  const auto r = run_command(std::string(PORTWAY_BINARY) +
                             " pktgen send --dev lo --dst 198.19.0.1 --dst-mac 02:00:00:00:00:01 --count 10 "
                             "--engine live-frames 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("this kernel refuses BPF_PROG_RUN with live frames"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("needs root"), std::string::npos) << r.out;
}

TEST_F(PktgenCli, BadInputIsRefusedWithTheDocumentedExitCodes) {
  const std::string bin = PORTWAY_BINARY;
  // Usage errors: exit 2.
  EXPECT_EQ(run_command(bin + " pktgen send --dst 198.19.0.1 --dst-mac 02:00:00:00:00:01 >/dev/null 2>&1").status, 2);
  EXPECT_EQ(run_command(bin + " pktgen sink --dev lo --bogus >/dev/null 2>&1").status, 2);
  EXPECT_EQ(run_command(bin + " pktgen send --dev lo --dst 198.19.0.1 --dst-mac 02:00:00:00:00:01 --engine warp "
                              ">/dev/null 2>&1").status, 2);
  EXPECT_EQ(run_command(bin + " pktgen blast >/dev/null 2>&1").status, 2);
  // Input read and refused: exit 1, before anything is loaded or attached.
  EXPECT_EQ(run_command(bin + " pktgen send --dev lo --dst nowhere --dst-mac 02:00:00:00:00:01 >/dev/null 2>&1").status, 1);
  EXPECT_EQ(run_command(bin + " pktgen send --dev lo --dst 198.19.0.1 --dst-mac 02:00:00:00:00:01 --size 20 >/dev/null 2>&1").status, 1);
  EXPECT_EQ(run_command(bin + " pktgen send --dev lo --dst 2001:2::1 --src 198.18.0.1 --dst-mac 02:00:00:00:00:01 >/dev/null 2>&1").status, 1);
}

}  // namespace
}  // namespace portway::test
