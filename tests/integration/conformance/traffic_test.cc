// Conformance scenarios about where traffic goes (docs/dataplane.md "Semantics"): per-port targets,
// node ports (and node-port numbers to other destinations), the client's address, hairpin,
// and what a client sees when nothing may answer.
#include <set>

#include "conformance_fixture.h"
#include "lab/cgroup_dir.h"
#include "lab/probe_client.h"
#include "lab_dataplanes.h"

namespace portway::conformance {
namespace {

using lab::ProbeResult;
using lab::ProbeStatus;
using namespace std::chrono_literals;

lab::WhoAnswer who(const ProbeResult& r) {
  lab::WhoAnswer w;
  if (r.status == ProbeStatus::ok) lab::parse_who(r.reply, w);
  return w;
}

std::string port_of(const ProbeResult& r) {
  const auto w = who(r);
  return w.sandbox.empty() ? lab::to_string(r.status) : std::to_string(w.port);
}

TEST_P(ConformanceTest, PerPortTargets) {
  const std::string s = "per_port_targets";
  apply_web(ground_->all_members());
  const auto http = lab::tcp_probe(client(), vip(), 80);
  const auto admin = lab::tcp_probe(client(), vip(), 81);
  const auto dns = lab::udp_probe(client(), vip(), 53);
  record(s, "tcp80.target_port", port_of(http));
  record(s, "tcp81.target_port", port_of(admin));
  record(s, "udp53.target_port", port_of(dns));
  EXPECT_EQ(port_of(http), "7000");
  EXPECT_EQ(port_of(admin), "7100") << "each port reaches ITS target (Miren sent all to the first)";
  EXPECT_EQ(port_of(dns), "7001");
  // New flows spread over every running backend: 40 flows over 4 backends miss one with
  // probability ~4e-5 under random choice, and Maglev spreads even more evenly.
  std::set<std::string> seen;
  for (int i = 0; i < 40; ++i) seen.insert(who(lab::tcp_probe(client(), vip(), 80, "WHO\n", 1000ms)).sandbox);
  seen.erase("");
  record(s, "tcp80.backends_used_of_4", std::to_string(seen.size()));
  EXPECT_EQ(seen.size(), kSandboxes);
}

TEST_P(ConformanceTest, NodePortLocal) {
  const std::string s = "node_port_local";
  apply_web(ground_->all_members());
  const auto tcp = lab::tcp_probe(client(), node_address(), kNodePortTcp);
  const auto udp = lab::udp_probe(client(), node_address(), kNodePortUdp);
  record(s, "tcp.target_port", port_of(tcp));
  record(s, "udp.target_port", port_of(udp));
  EXPECT_EQ(port_of(tcp), "7000") << "the target port of the service port owning the node port";
  EXPECT_EQ(port_of(udp), "7001");
}

TEST_P(ConformanceTest, NodePortNumberToOtherDestination) {
  const std::string s = "node_port_number_to_other_destination";
  apply_web(ground_->all_members());
  // The same port numbers to a sandbox address: the sandbox's own listeners answer, on the
  // port that was sent (Miren hijacked such connections).
  const auto tcp = who(lab::tcp_probe(client(), sandbox_address(1), kNodePortTcp));
  const auto udp = who(lab::udp_probe(client(), sandbox_address(2), kNodePortUdp));
  record(s, "tcp.answered_by", tcp.sandbox + ":" + std::to_string(tcp.port));
  record(s, "udp.answered_by", udp.sandbox + ":" + std::to_string(udp.port));
  EXPECT_EQ(tcp.sandbox + ":" + std::to_string(tcp.port), "sb1:30080");
  EXPECT_EQ(udp.sandbox + ":" + std::to_string(udp.port), "sb2:30053");
}

TEST_P(ConformanceTest, ClientSourcePreserved) {
  const std::string s = "client_source_preserved";
  apply_web(ground_->all_members());
  const struct {
    std::string field;
    ProbeResult r;
  } probes[] = {{"vip_tcp", lab::tcp_probe(client(), vip(), 80)},
                {"vip_udp", lab::udp_probe(client(), vip(), 53)},
                {"node_port_tcp", lab::tcp_probe(client(), node_address(), kNodePortTcp)},
                {"node_port_udp", lab::udp_probe(client(), node_address(), kNodePortUdp)}};
  for (const auto& p : probes) {
    const auto w = who(p.r);
    const std::string role = w.sandbox.empty() ? lab::to_string(p.r.status) : source_role(w.client_addr);
    record(s, p.field + ".source", role);
    record(s, p.field + ".client_port_kept", yes_no(w.client_port != 0 && w.client_port == p.r.local_port));
    EXPECT_EQ(role, "client") << p.field << ": the backend must see the real client (no masquerade)";
    EXPECT_EQ(w.client_port, p.r.local_port) << p.field;
  }
}

TEST_P(ConformanceTest, Hairpin) {
  const std::string s = "hairpin";
  apply_web(ground_->all_members());
  const std::string sb0 = topo().sandboxes[0].netns;
  std::string self_source, other_source;
  int self = 0, other = 0;
  // Bounded: each try picks sb0 with probability ~1/4.
  for (int i = 0; i < 80 && (self < 2 || other < 1); ++i) {
    const auto r = lab::tcp_probe(sb0, vip(), 80, "WHO\n", 1000ms);
    const auto w = who(r);
    if (w.sandbox == "sb0") {
      ++self;
      self_source = source_role(w.client_addr);
    } else if (!w.sandbox.empty()) {
      ++other;
      other_source = source_role(w.client_addr);
    }
  }
  record(s, "picked_itself_answered", yes_no(self > 0));
  record(s, "picked_itself.source", self_source);
  record(s, "picked_other.source", other_source);
  EXPECT_GT(self, 0) << "a sandbox picked by its own service must still get an answer";
  EXPECT_EQ(self_source, "node") << "hairpin: source NAT to a node address";
  EXPECT_EQ(other_source, "sandbox:sb0") << "service-to-service traffic keeps its source";
}

TEST_P(ConformanceTest, RejectNoEndpoint) {
  const std::string s = "reject_no_endpoint";
  apply_web(ground_->all_members());
  const auto before = dp_->stats();
  // 800 ms: under the initial SYN retransmission timeout (1 s), so one SYN per probe.
  const auto tcp = lab::tcp_probe(client(), empty_vip(), 80, "WHO\n", 800ms);
  const auto udp = lab::udp_probe(client(), empty_vip(), 53, "WHO", 800ms);
  const auto after = dp_->stats();
  record(s, "tcp.client_saw", lab::to_string(tcp.status));
  record(s, "udp.client_saw", lab::to_string(udp.status));
  const auto delta = [&](const std::string& key) {
    const auto a = after.frontends.find(key), b = before.frontends.find(key);
    const std::uint64_t x = a == after.frontends.end() ? 0 : a->second.rejected;
    const std::uint64_t y = b == before.frontends.end() ? 0 : b->second.rejected;
    return std::to_string(x - y);
  };
  record(s, "tcp.rejected_delta", delta(frontend_key(empty_vip(), 80, "tcp")));
  record(s, "udp.rejected_delta", delta(frontend_key(empty_vip(), 53, "udp")));
  EXPECT_EQ(tcp.status, ProbeStatus::refused) << "TCP: a reset, not a hang (" << tcp.error << ")";
  EXPECT_EQ(udp.status, ProbeStatus::refused) << "UDP: ICMP port unreachable (" << udp.error << ")";
  EXPECT_EQ(delta(frontend_key(empty_vip(), 80, "tcp")), "1");
  EXPECT_EQ(delta(frontend_key(empty_vip(), 53, "udp")), "1");
}

TEST_P(ConformanceTest, RejectUndeclaredPort) {
  const std::string s = "reject_undeclared_port";
  apply_web(ground_->all_members());
  const auto before = dp_->stats();
  const struct {
    std::string field;
    ProbeResult r;
  } probes[] = {{"tcp82", lab::tcp_probe(client(), vip(), 82, "WHO\n", 800ms)},
                {"udp82", lab::udp_probe(client(), vip(), 82, "WHO", 800ms)},
                {"udp80_declared_tcp_only", lab::udp_probe(client(), vip(), 80, "WHO", 800ms)},
                {"tcp53_declared_udp_only", lab::tcp_probe(client(), vip(), 53, "WHO\n", 800ms)}};
  const auto after = dp_->stats();
  for (const auto& p : probes) {
    record(s, p.field + ".client_saw", lab::to_string(p.r.status));
    EXPECT_EQ(p.r.status, ProbeStatus::refused) << p.field << ": " << p.r.error;
  }
  const auto count = [](const dataplane::Stats& st) {
    const auto it = st.drops.find("undeclared_port");
    return it == st.drops.end() ? std::uint64_t{0} : it->second;
  };
  record(s, "drops.undeclared_port_delta", std::to_string(count(after) - count(before)));
  EXPECT_EQ(count(after) - count(before), 4u);
}

// Processes on the node itself (the fast path: cgroup socket hooks; nftables: its output
// hook). Probes run in a child placed in the lab node's cgroup, where the hooks are attached.
TEST_P(ConformanceTest, FromNode) {
  const std::string s = "from_node";
  apply_web(ground_->all_members());
  const std::string node = topo().node_netns;
  const std::string cgroup = itest::lab_cgroup(topo());
  auto from_node = [&](bool udp, const std::string& addr, std::uint16_t port) {
    return lab::probe_in_cgroup(cgroup, [&] {
      return udp ? lab::udp_probe(node, addr, port) : lab::tcp_probe(node, addr, port);
    });
  };
  const auto tcp = from_node(false, vip(), 80);
  const auto udp = from_node(true, vip(), 53);
  const auto node_port = from_node(false, node_address(), kNodePortTcp);
  record(s, "vip_tcp80.target_port", port_of(tcp));
  record(s, "vip_udp53.target_port", port_of(udp));
  record(s, "node_port_tcp.target_port", port_of(node_port));
  EXPECT_EQ(port_of(tcp), "7000");
  EXPECT_EQ(port_of(udp), "7001");
  EXPECT_EQ(port_of(node_port), "7000");
  const auto w = who(tcp);
  record(s, "vip_tcp80.source", w.sandbox.empty() ? lab::to_string(tcp.status) : source_role(w.client_addr));
  EXPECT_EQ(source_role(w.client_addr), "node") << w.client_addr;

  const auto no_endpoint = from_node(false, empty_vip(), 80);
  const auto undeclared_tcp = from_node(false, vip(), 5999);
  const auto undeclared_udp = from_node(true, vip(), 5999);
  record(s, "no_endpoint_tcp.client_saw", lab::to_string(no_endpoint.status));
  record(s, "undeclared_tcp.client_saw", lab::to_string(undeclared_tcp.status));
  EXPECT_EQ(no_endpoint.status, ProbeStatus::refused) << no_endpoint.error;
  EXPECT_EQ(undeclared_tcp.status, ProbeStatus::refused) << undeclared_tcp.error;
  expect_field(s, "undeclared_udp.client_saw", lab::to_string(undeclared_udp.status),
               lab::to_string(ProbeStatus::refused));
}

}  // namespace
}  // namespace portway::conformance
