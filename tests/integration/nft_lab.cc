#include "nft_lab.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "netlink/netns.h"
#include "support/root.h"

namespace portway::dataplane::nft::testing {

void NftLabTest::SetUp() {
  PORTWAY_REQUIRE_ROOT();
  // 30080 on the sandboxes themselves: a node-port number sent to a non-local address must
  // reach this listener untouched.
  ground_ = std::make_unique<itest::LabGround>(itest::LabGroundSpec{
      "pwnft" + std::to_string(getpid() % 100000), 3, {7000, 7100, 30080}, {7001}, 180});
  topo_ = ground_->topo();
  built_ = true;
  netlink::NetnsGuard in(topo_.node_netns);
  dp_ = std::make_unique<NftDataplane>(node_settings());
}

config::NodeSettings NftLabTest::node_settings() const {
  config::NodeSettings s;
  s.uplinks = {topo_.uplink};
  s.node_addresses = {net::to_string(topo_.node_address), net::to_string(topo_.node_address6)};
  return s;
}

void NftLabTest::TearDown() {
  if (!built_) return;
  dp_.reset();  // its flow worker first: it holds sockets in the node namespace
  ground_->destroy();
  for (const auto& name : ground_->leftovers()) ADD_FAILURE() << "left behind: " << name;
  ground_.reset();
}

std::string NftLabTest::sandbox(std::size_t i) const { return ground_->sandbox(i); }
std::string NftLabTest::sandbox6(std::size_t i) const { return ground_->sandbox6(i); }

state::DataplaneState NftLabTest::lab_state_dual(const std::vector<state::Member>& members) const {
  const state::DataplaneState v4 = lab_state(members);
  std::vector<state::Frontend> fs(v4.frontends().begin(), v4.frontends().end());
  for (const auto& f : v4.frontends()) {
    state::Frontend f6 = f;
    f6.key.address = *net::parse_ipv6(std::get<net::Ipv4>(f.key.address) == *net::parse_ipv4(kVip) ? kVip6 : kEmptyVip6);
    fs.push_back(std::move(f6));
  }
  return state::DataplaneState::from_parts(std::move(fs), {v4.node_ports().begin(), v4.node_ports().end()},
                                           {v4.backend_sets().begin(), v4.backend_sets().end()});
}

state::Member NftLabTest::member(std::size_t i, state::MemberState s) const { return ground_->member(i, s); }

std::vector<state::Member> NftLabTest::all_members() const { return ground_->all_members(); }

state::DataplaneState NftLabTest::lab_state(const std::vector<state::Member>& members) const {
  const auto vip = *net::parse_ipv4(kVip);
  const auto empty = *net::parse_ipv4(kEmptyVip);
  using config::Protocol;
  return state::DataplaneState::from_parts(
      {{{vip, 80, Protocol::tcp}, 7000, "svc/lab/web", "http"},
       {{vip, 81, Protocol::tcp}, 7100, "svc/lab/web", "admin"},
       {{vip, 53, Protocol::udp}, 7001, "svc/lab/web", "dns"},
       {{empty, 80, Protocol::tcp}, 7000, "svc/lab/empty", "http"}},
      {{{kNodePort, Protocol::tcp}, 7000, "svc/lab/web", "http"}},
      {{"svc/lab/web", members}, {"svc/lab/empty", {}}});
}

void NftLabTest::in_node(const std::function<void()>& f) const {
  netlink::NetnsGuard in(topo_.node_netns);
  f();
}

std::string NftLabTest::nft_cli(const std::string& args) const {
  // One argument for nft (it joins its argv anyway), quoted for the shell: braces and
  // semicolons are nft syntax here.
  const std::string cmd = "ip netns exec " + topo_.node_netns + " nft '" + args + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "popen " << cmd;
    return "";
  }
  std::string out;
  char buf[4096];
  while (const std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = pclose(p);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << cmd << ": " << out;
  return out;
}

std::string NftLabTest::who_sandbox(const lab::ProbeResult& r) { return itest::who_sandbox(r); }

}  // namespace portway::dataplane::nft::testing
