// The conformance suite's fixture (docs/testing.md, docs/dataplane.md "Parity"): one test
// per scenario, parametrised by the dataplane and the address family, with IDENTICAL
// expectations for all four. The Services are dual-stack; the family says which addresses the
// traffic uses (service addresses, node address, sandboxes, client). Each test
// builds its own lab (4 sandboxes running portway-testapp) under the prefix "pwc<pid>", puts
// the dataplane on its node, sends traffic from the client (or a sandbox) and records the
// observable outcome as one row of the dataplane's table (table_recorder.h) besides asserting
// on it. Everything is removed when the test ends, also on failure.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string_view>
#include <tuple>
#include <string>
#include <vector>

#include "dataplane/dataplane.h"
#include "lab_dataplanes.h"
#include "lab_ground.h"
#include "state/dataplane_state.h"

namespace portway::conformance {

inline constexpr const char* kVip = "198.19.0.7";       // svc/conf/web
inline constexpr const char* kEmptyVip = "198.19.0.8";  // svc/conf/empty: no endpoint
inline constexpr const char* kVip6 = "2001:2:1::7";     // svc/conf/web's IPv6 address
inline constexpr const char* kEmptyVip6 = "2001:2:1::8";
inline constexpr std::uint16_t kNodePortTcp = 30080;    // -> web's 80/tcp (target 7000)
inline constexpr std::uint16_t kNodePortUdp = 30053;    // -> web's 53/udp (target 7001)
inline constexpr std::size_t kSandboxes = 4;

enum class Family : std::uint8_t { ipv4, ipv6 };
std::string_view to_string(Family f);

class ConformanceTest : public ::testing::TestWithParam<std::tuple<dataplane::Kind, Family>> {
 protected:
  void SetUp() override;
  void TearDown() override;

  dataplane::Kind kind() const { return std::get<0>(GetParam()); }
  Family family() const { return std::get<1>(GetParam()); }
  bool ipv6() const { return family() == Family::ipv6; }
  // The table this run writes: "<dataplane>-<family>" (four tables, two parity pairs).
  std::string dataplane_name() const;
  // One field of this scenario's row.
  void record(const std::string& scenario, const std::string& field, const std::string& value);
  // Records the field and expects `expected`, unless parity_exceptions.txt lists the field:
  // then the value is only recorded, and the parity check (which fails on a listed exception
  // that matches no difference) keeps it honest. The same rule for both dataplanes.
  void expect_field(const std::string& scenario, const std::string& field, const std::string& actual,
                    const std::string& expected);

  // web: 198.19.0.7 and 2001:2:1::7 80/tcp -> 7000, 81/tcp -> 7100, 53/udp -> 7001, node
  // ports 30080/tcp and 30053/udp; empty: 198.19.0.8 and 2001:2:1::8 80/tcp -> 7000, 53/udp
  // -> 7001 with no member.
  state::DataplaneState conf_state(const std::vector<state::Member>& web) const;
  void apply_web(const std::vector<state::Member>& web);

  // What a backend saw as its client, as a role both dataplanes can be compared on:
  // "client", "node" (any address of the node: uplink or a sandbox gateway), "sandbox:sbN",
  // or "other:<addr>".
  std::string source_role(const std::string& addr) const;

  const lab::Topology& topo() const { return ground_->topo(); }
  std::string client() const { return topo().client_netns; }
  // The addresses of this run's family.
  std::string vip() const { return ipv6() ? kVip6 : kVip; }
  std::string empty_vip() const { return ipv6() ? kEmptyVip6 : kEmptyVip; }
  std::string node_address() const;
  std::string sandbox_address(std::size_t i) const;
  std::string gateway(std::size_t i) const;  // the node's address towards sandbox i
  std::string loopback() const { return ipv6() ? "::1" : "127.0.0.1"; }
  // A frontend's key in Stats: "198.19.0.7:53/udp", "[2001:2:1::7]:53/udp".
  std::string frontend_key(const std::string& addr, std::uint16_t port, const char* proto) const;

  std::unique_ptr<itest::LabGround> ground_;
  std::unique_ptr<itest::LabDataplane> dp_;
  std::string bpffs_dir_;
};

// "yes"/"no" for the table.
inline std::string yes_no(bool b) { return b ? "yes" : "no"; }

}  // namespace portway::conformance
