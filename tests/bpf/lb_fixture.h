// Table-driven packet fixtures for the load balancer: input bytes, expected verdict, expected
// output bytes, expected counter deltas; one or more steps per fixture (e.g. a SYN that
// creates a flow, then the segment under test).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lb_lab.h"
#include "support/packet_builder.h"

namespace portway::test::lb {

// kTc: pw_tc_sandbox (a sandbox's host veth); kTcUplink: pw_tc_uplink (the uplink).
enum class Hook { kXdp, kTc, kTcUplink };

// Verdicts (linux/bpf.h, linux/pkt_cls.h), spelled out so fixtures read as tables.
inline constexpr std::uint32_t kXdpAborted = 0;
inline constexpr std::uint32_t kXdpDrop = 1;
inline constexpr std::uint32_t kXdpPass = 2;
inline constexpr std::uint32_t kXdpTx = 3;
inline constexpr std::uint32_t kXdpRedirect = 4;
inline constexpr std::uint32_t kTcOk = 0;
inline constexpr std::uint32_t kTcShot = 2;
inline constexpr std::uint32_t kTcRedirect = 7;

struct Traffic {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t new_flows = 0;
  std::uint64_t rejected = 0;
  bool operator==(const Traffic&) const = default;
};

// Counter deltas a step must cause; every counter not named must stay unchanged.
struct Expect {
  std::map<std::uint32_t, Traffic> frontends;
  std::map<std::uint32_t, Traffic> backends;
  std::map<std::uint32_t, std::uint64_t> drops;
  // pw_events deltas (enum pw_event). nullopt: not checked; a map: every event not named
  // must stay unchanged.
  std::optional<std::map<std::uint32_t, std::uint64_t>> events = std::nullopt;
};

struct Step {
  Hook hook = Hook::kXdp;
  std::vector<std::uint8_t> input;
  std::uint32_t verdict = kXdpPass;
  // nullopt: the frame must come back byte-identical.
  std::optional<std::vector<std::uint8_t>> output;
  Expect expect;
  // Runs before the packet (e.g. change a backend's state).
  std::function<void(LbLab&)> before = {};
  // Runs after the checks (e.g. look at the flow table).
  std::function<void(LbLab&)> check = {};
  // Leading bytes of the output that are XDP metadata (data_meta..data), not frame.
  std::size_t output_metadata = 0;
  // When set, the expected output instead of `output`, for bytes only the lab knows (an
  // ifindex in the metadata).
  std::function<std::vector<std::uint8_t>(LbLab&)> output_for = {};
  // Hook::kTcUplink only: the input is a GRO-merged skb.
  std::optional<Gso> gso = std::nullopt;
};

struct Fixture {
  std::string name;  // [A-Za-z0-9_]: a gtest parameter name
  std::vector<Step> steps;
};

// Runs every step on the lab (after configure()) with gtest assertions.
void run_fixture(LbLab& lab, const Fixture& fixture);

// ---- expectation helpers ------------------------------------------------------------------
// What a hand-off outputs (the XDP metadata in front of the frame): struct pw_handoff (host
// order) naming the lab's host veth, then the final frame. On a kernel without XDP metadata
// (loader/xdp_features.h) the frame goes to the stack instead: `to_stack`, translated with the
// MACs and TTL it came with. run_fixture counts the expected PW_EV_XDP_TC_HANDOFF as
// PW_EV_XDP_STACK there, and the step's output_metadata as 0.
[[nodiscard]] std::vector<std::uint8_t> handed_off(LbLab& lab, const std::vector<std::uint8_t>& frame,
                                                   const std::vector<std::uint8_t>& to_stack);
[[nodiscard]] Expect forwarded(std::uint32_t frontend, std::uint32_t backend, std::size_t bytes,
                               bool new_flow);
[[nodiscard]] Expect dropped(std::uint32_t reason);
// A reject reply: the reason, and `rejected` on the frontend when there is one.
[[nodiscard]] Expect rejected(std::uint32_t reason,
                              std::optional<std::uint32_t> frontend = std::nullopt);
[[nodiscard]] inline Expect nothing() { return {}; }
// `e` with the program events it must count.
[[nodiscard]] inline Expect with_events(Expect e, std::map<std::uint32_t, std::uint64_t> events) {
  e.events = std::move(events);
  return e;
}

// ---- packet helpers -----------------------------------------------------------------------
// A unicast MAC that is not the node's: frames to it are another host's.
inline constexpr MacAddress kOtherHostMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
// `len` bytes of `frame` from offset `from`.
[[nodiscard]] inline std::vector<std::uint8_t> slice(const std::vector<std::uint8_t>& frame,
                                                     std::size_t from, std::size_t len) {
  return {frame.begin() + static_cast<std::ptrdiff_t>(from),
          frame.begin() + static_cast<std::ptrdiff_t>(from + len)};
}
// A client packet: kClientMac -> kNodeMac, kClient:40000 -> dst:dport.
[[nodiscard]] PacketBuilder from_client(const Ipv4Address& dst, std::uint16_t dport);
// A sandbox packet: kSandboxMac -> kHostVethMac, kSandbox:sport -> dst:dport.
[[nodiscard]] PacketBuilder from_sandbox(const Ipv4Address& dst, std::uint16_t sport,
                                         std::uint16_t dport);
// A client's first packet through XDP to dst:port (frontend `fe`), redirected to the sandbox
// backend: a SYN to kTargetTcp, or a UDP "query" to kTargetUdp. Opens the flow later steps use.
[[nodiscard]] Step xdp_syn(const Ipv4Address& dst, std::uint16_t port, std::uint32_t fe);
[[nodiscard]] Step xdp_udp(const Ipv4Address& dst, std::uint16_t port, std::uint32_t fe);
// The answer a reject builds: TCP reset to the input segment (from its destination).
[[nodiscard]] std::vector<std::uint8_t> expected_rst(const std::vector<std::uint8_t>& input);
// The answer a reject builds: ICMP error quoting the input's IP header + 8 bytes.
[[nodiscard]] std::vector<std::uint8_t> expected_icmp(const std::vector<std::uint8_t>& input,
                                                      std::uint8_t type, std::uint8_t code,
                                                      std::uint32_t rest = 0);

// The tables one after the other, in order.
[[nodiscard]] std::vector<Fixture> concat(std::initializer_list<std::vector<Fixture>> parts);

// Fixture tables (one file each).
[[nodiscard]] std::vector<Fixture> semantics_fixtures();
[[nodiscard]] std::vector<Fixture> bad_input_fixtures();
[[nodiscard]] std::vector<Fixture> icmp_fragment_fixtures();
[[nodiscard]] std::vector<Fixture> tc_fixtures();
[[nodiscard]] std::vector<Fixture> delivery_fixtures();
[[nodiscard]] std::vector<Fixture> fastpath_fixtures();
[[nodiscard]] std::vector<Fixture> ipv6_fixtures();
[[nodiscard]] std::vector<Fixture> ipv6_icmp_fragment_fixtures();
[[nodiscard]] std::vector<Fixture> all_fixtures();

}  // namespace portway::test::lb
