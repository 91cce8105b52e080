#include "lb_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "loader/lb_drop_reasons.h"
#include "loader/lb_events.h"
#include "packet6.h"
#include "support/packet_edit.h"

namespace portway::test::lb {
namespace {

struct Snapshot {
  std::vector<pw_traffic> frontends;
  std::vector<pw_traffic> backends;
  std::array<std::uint64_t, PW_DROP_REASONS> drops{};
  std::array<std::uint64_t, PW_EVENTS> events{};

  static Snapshot take(const loader::LbMaps& maps) {
    Snapshot s;
    for (std::uint32_t id = 0; id < kFrontendCount; ++id) {
      s.frontends.push_back(maps.frontend_traffic(id));
    }
    for (std::uint32_t id = 0; id < kBackendIdLimit; ++id) {
      s.backends.push_back(maps.backend_traffic(id));
    }
    s.drops = maps.all_drops();
    s.events = maps.all_events();
    return s;
  }
};

Traffic delta(const pw_traffic& before, const pw_traffic& after) {
  return Traffic{after.packets - before.packets, after.bytes - before.bytes,
                 after.new_flows - before.new_flows, after.rejected - before.rejected};
}

std::string show(const Traffic& t) {
  return "{packets " + std::to_string(t.packets) + ", bytes " + std::to_string(t.bytes) +
         ", new_flows " + std::to_string(t.new_flows) + ", rejected " +
         std::to_string(t.rejected) + "}";
}

void check_counters(Expect expect, const Snapshot& before, const Snapshot& after, bool metadata) {
  if (!metadata && expect.events) {
    // Without XDP metadata every hand-off is a frame for the stack (handed_off()).
    auto& ev = *expect.events;
    if (const auto it = ev.find(PW_EV_XDP_TC_HANDOFF); it != ev.end()) {
      ev[PW_EV_XDP_STACK] += it->second;
      ev.erase(PW_EV_XDP_TC_HANDOFF);
    }
  }
  for (std::uint32_t id = 0; id < before.frontends.size(); ++id) {
    const auto it = expect.frontends.find(id);
    const Traffic want = it != expect.frontends.end() ? it->second : Traffic{};
    const Traffic got = delta(before.frontends[id], after.frontends[id]);
    EXPECT_EQ(got, want) << "frontend " << id << ": got " << show(got) << ", want " << show(want);
  }
  for (std::uint32_t id = 0; id < before.backends.size(); ++id) {
    const auto it = expect.backends.find(id);
    const Traffic want = it != expect.backends.end() ? it->second : Traffic{};
    const Traffic got = delta(before.backends[id], after.backends[id]);
    EXPECT_EQ(got, want) << "backend " << id << ": got " << show(got) << ", want " << show(want);
  }
  for (std::uint32_t r = 0; r < PW_DROP_REASONS; ++r) {
    const auto it = expect.drops.find(r);
    const std::uint64_t want = it != expect.drops.end() ? it->second : 0;
    EXPECT_EQ(after.drops[r] - before.drops[r], want)
        << "drop reason " << loader::drop_reason_name(r);
  }
  if (expect.events) {
    for (std::uint32_t e = 0; e < PW_EVENTS; ++e) {
      const auto it = expect.events->find(e);
      const std::uint64_t want = it != expect.events->end() ? it->second : 0;
      EXPECT_EQ(after.events[e] - before.events[e], want) << "event " << loader::event_name(e);
    }
  }
}

}  // namespace

void run_fixture(LbLab& lab, const Fixture& fixture) {
  lab.configure();
  for (std::size_t i = 0; i < fixture.steps.size(); ++i) {
    const Step& step = fixture.steps[i];
    SCOPED_TRACE("step " + std::to_string(i));
    if (step.before) {
      step.before(lab);
    }
    const Snapshot before = Snapshot::take(lab.maps());
    const auto run = step.hook == Hook::kXdp   ? lab.run_xdp(step.input)
                     : step.hook == Hook::kTc ? lab.run_tc(step.input)
                                              : lab.run_tc_uplink(step.input, step.gso);
    const Snapshot after = Snapshot::take(lab.maps());

    EXPECT_EQ(run.retval, step.verdict);
    const auto expected =
        step.output_for ? step.output_for(lab) : step.output ? *step.output : step.input;
    EXPECT_EQ(run.output, expected) << describe_difference(expected, run.output);
    // Independent of the expected bytes: whatever the program rewrote or built must carry
    // checksums that verify from scratch.
    if (run.output != step.input) {
      const std::vector<std::uint8_t> frame(
          run.output.begin() + static_cast<std::ptrdiff_t>(std::min(
                                   lab.handoff_by_metadata() ? step.output_metadata : 0, run.output.size())),
          run.output.end());
      const auto problem = checksum_problem(frame);
      EXPECT_FALSE(problem.has_value()) << *problem;
      const auto problem6 = checksum6_problem(frame);
      EXPECT_FALSE(problem6.has_value()) << *problem6;
    }
    check_counters(step.expect, before, after, lab.handoff_by_metadata());
    if (step.check) {
      step.check(lab);
    }
  }
}

std::vector<std::uint8_t> handed_off(LbLab& lab, const std::vector<std::uint8_t>& frame,
                                     const std::vector<std::uint8_t>& to_stack) {
  if (!lab.handoff_by_metadata()) return to_stack;
  const pw_handoff h{PW_HANDOFF_MAGIC, lab.host_veth_ifindex()};
  std::vector<std::uint8_t> out(sizeof h + frame.size());
  std::memcpy(out.data(), &h, sizeof h);
  std::copy(frame.begin(), frame.end(), out.begin() + sizeof h);
  return out;
}

Expect forwarded(std::uint32_t frontend, std::uint32_t backend, std::size_t bytes,
                 bool new_flow) {
  Expect e;
  const Traffic t{1, bytes, new_flow ? 1u : 0u, 0};
  e.frontends[frontend] = t;
  e.backends[backend] = t;
  return e;
}

Expect dropped(std::uint32_t reason) {
  Expect e;
  e.drops[reason] = 1;
  return e;
}

Expect rejected(std::uint32_t reason, std::optional<std::uint32_t> frontend) {
  Expect e = dropped(reason);
  if (frontend) {
    e.frontends[*frontend] = Traffic{0, 0, 0, 1};
  }
  return e;
}

PacketBuilder from_client(const Ipv4Address& dst, std::uint16_t dport) {
  return PacketBuilder{}
      .src_mac(kClientMac)
      .dst_mac(kNodeMac)
      .src_ip(kClient)
      .dst_ip(dst)
      .src_port(40000)
      .dst_port(dport);
}

PacketBuilder from_sandbox(const Ipv4Address& dst, std::uint16_t sport, std::uint16_t dport) {
  return PacketBuilder{}
      .src_mac(kSandboxMac)
      .dst_mac(kHostVethMac)
      .src_ip(kSandbox)
      .dst_ip(dst)
      .src_port(sport)
      .dst_port(dport);
}

Step xdp_syn(const Ipv4Address& dst, std::uint16_t port, std::uint32_t fe) {
  const auto b = from_client(dst, port);
  return {Hook::kXdp, b.tcp(), kXdpRedirect,
          PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetTcp).ttl(63).src_mac(kHostVethMac)
              .dst_mac(kSandboxMac).tcp(),
          forwarded(fe, kBeSandbox, b.tcp().size(), true)};
}

Step xdp_udp(const Ipv4Address& dst, std::uint16_t port, std::uint32_t fe) {
  const auto b = from_client(dst, port).payload("query");
  return {Hook::kXdp, b.udp(), kXdpRedirect,
          PacketBuilder{b}.dst_ip(kSandbox).dst_port(kTargetUdp).ttl(63).src_mac(kHostVethMac)
              .dst_mac(kSandboxMac).udp(),
          forwarded(fe, kBeSandbox, b.udp().size(), true)};
}

namespace {

MacAddress mac_at(const std::vector<std::uint8_t>& f, std::size_t at) {
  MacAddress m{};
  std::copy_n(f.begin() + static_cast<std::ptrdiff_t>(at), 6, m.begin());
  return m;
}

Ipv4Address ip_at(const std::vector<std::uint8_t>& f, std::size_t at) {
  Ipv4Address a{};
  std::copy_n(f.begin() + static_cast<std::ptrdiff_t>(at), 4, a.begin());
  return a;
}

std::uint32_t be32_at(const std::vector<std::uint8_t>& f, std::size_t at) {
  return static_cast<std::uint32_t>(f.at(at) << 24 | f.at(at + 1) << 16 | f.at(at + 2) << 8 |
                                    f.at(at + 3));
}

}  // namespace

std::vector<std::uint8_t> expected_rst(const std::vector<std::uint8_t>& in) {
  const std::size_t ihl = static_cast<std::size_t>(in.at(14) & 0x0f) * 4;
  const std::size_t tcp = 14 + ihl;
  const std::size_t tot = get_be16(in, 16);
  const std::size_t doff = static_cast<std::size_t>(in.at(tcp + 12) >> 4) * 4;
  const std::uint8_t flags = in.at(tcp + 13);
  auto b = PacketBuilder{}
               .src_mac(mac_at(in, 0))
               .dst_mac(mac_at(in, 6))
               .src_ip(ip_at(in, 30))
               .dst_ip(ip_at(in, 26))
               .src_port(get_be16(in, tcp + 2))
               .dst_port(get_be16(in, tcp))
               .ttl(64)
               .ip_id(0)
               .dont_fragment(true)
               .tcp_window(0);
  if (flags & tcp_flags::kAck) {
    b.tcp_flags(tcp_flags::kRst).tcp_seq(be32_at(in, tcp + 8)).tcp_ack(0);
  } else {
    const std::uint32_t seg = static_cast<std::uint32_t>(tot - ihl - doff) +
                              ((flags & tcp_flags::kSyn) ? 1 : 0) +
                              ((flags & tcp_flags::kFin) ? 1 : 0);
    b.tcp_flags(tcp_flags::kRst | tcp_flags::kAck).tcp_seq(0).tcp_ack(be32_at(in, tcp + 4) + seg);
  }
  return b.tcp();
}

std::vector<std::uint8_t> expected_icmp(const std::vector<std::uint8_t>& in, std::uint8_t type,
                                        std::uint8_t code, std::uint32_t rest) {
  const std::size_t ihl = static_cast<std::size_t>(in.at(14) & 0x0f) * 4;
  const std::vector<std::uint8_t> quote(in.begin() + 14,
                                        in.begin() + static_cast<std::ptrdiff_t>(14 + ihl + 8));
  return PacketBuilder{}
      .src_mac(mac_at(in, 0))
      .dst_mac(mac_at(in, 6))
      .src_ip(ip_at(in, 30))
      .dst_ip(ip_at(in, 26))
      .ttl(64)
      .ip_id(0)
      .dont_fragment(false)
      .payload(quote)
      .icmp(type, code, rest);
}

std::vector<Fixture> concat(std::initializer_list<std::vector<Fixture>> parts) {
  std::vector<Fixture> all;
  for (const auto& part : parts) {
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

std::vector<Fixture> all_fixtures() {
  return concat(
      {semantics_fixtures(), bad_input_fixtures(), icmp_fragment_fixtures(), tc_fixtures(),
       delivery_fixtures(), fastpath_fixtures(), ipv6_fixtures(),
       ipv6_icmp_fragment_fixtures()});
}

}  // namespace portway::test::lb
