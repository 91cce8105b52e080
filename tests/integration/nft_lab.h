// The ground of the nftables dataplane's integration tests: a lab topology of its own (client,
// node, three sandboxes running portway-testapp: itest::LabGround), an NftDataplane bound to
// the node namespace, and probes that tell which sandbox answered, on which port, seeing which
// client.
// Everything is removed when the test ends, also when it fails half way: the namespaces (and
// with them every table in them) go with the topology.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/nft/nft_dataplane.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "lab_ground.h"
#include "tcp_connection.h"

namespace portway::dataplane::nft::testing {

inline constexpr const char* kVip = "198.19.0.7";      // the Service's address
inline constexpr const char* kEmptyVip = "198.19.0.8";  // a Service without backends
inline constexpr std::uint16_t kNodePort = 30080;
inline constexpr const char* kVip6 = "2001:2:1::7";       // the Service's IPv6 address
inline constexpr const char* kEmptyVip6 = "2001:2:1::8";  // the backendless Service's

using itest::TcpConnection;

class NftLabTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The sandbox addresses, "198.18.1<i>.2".
  std::string sandbox(std::size_t i) const;
  // The default state: kVip with 80/tcp -> 7000, 81/tcp -> 7100, 53/udp -> 7001 and node port
  // 30080/tcp -> 7000 on svc/lab/web (the given sandboxes, running), kEmptyVip:80/tcp on
  // svc/lab/empty (no backend).
  state::DataplaneState lab_state(const std::vector<state::Member>& members) const;
  // lab_state() plus the same frontends on kVip6 and kEmptyVip6 (dual stack).
  state::DataplaneState lab_state_dual(const std::vector<state::Member>& members) const;
  std::string sandbox6(std::size_t i) const;
  // Members have both addresses (the lab's sandboxes are dual-stack).
  state::Member member(std::size_t sandbox, state::MemberState s = state::MemberState::running) const;
  std::vector<state::Member> all_members() const;

  // Runs `f` with the calling thread in the node namespace (for nft CLI-free inspection).
  void in_node(const std::function<void()>& f) const;
  // `nft ...` inside the node namespace (tests may use the CLI to inspect or to vandalise);
  // returns its stdout, fails the test on a non-zero exit.
  std::string nft_cli(const std::string& args) const;

  // The node settings the dataplane runs with: the lab uplink, node_addresses = the node's
  // uplink addresses of both families (named, because apply() may run outside the node
  // namespace).
  config::NodeSettings node_settings() const;

  // Which sandbox answered a WHO, "" on no answer.
  static std::string who_sandbox(const lab::ProbeResult& r);

  std::unique_ptr<itest::LabGround> ground_;
  lab::Topology topo_;  // ground_->topo(), kept by value for the tests' brevity
  std::unique_ptr<NftDataplane> dp_;
  bool built_ = false;
};

// The answer of a WHO probe that must have succeeded.
inline lab::WhoAnswer who_of(const lab::ProbeResult& r) {
  lab::WhoAnswer w;
  EXPECT_EQ(r.status, lab::ProbeStatus::ok) << r.error;
  EXPECT_TRUE(lab::parse_who(r.reply, w)) << r.reply;
  return w;
}

}  // namespace portway::dataplane::nft::testing
