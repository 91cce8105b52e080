// The ground every dataplane integration test stands on: a lab topology (client, node,
// sandboxes) under a unique name prefix, portway-testapp running in each sandbox, and the
// teardown that removes all of it, also after a failure half way. Dataplane-agnostic: the
// nft fixture, the XDP tests and the conformance suite each put their dataplane on top.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lab/cgroup_dir.h"
#include "lab/ns_process.h"
#include "lab/probe_client.h"
#include "lab/topology.h"
#include "state/dataplane_state.h"

namespace portway::itest {

struct LabGroundSpec {
  std::string prefix;  // namespace names start with it; unique per test process
  unsigned sandboxes = 3;
  std::vector<std::uint16_t> tcp_ports;  // every sandbox's test app listens on these
  std::vector<std::uint16_t> udp_ports;
  int app_seconds = 180;  // the apps stop by themselves after this
};

class LabGround {
 public:
  // Builds the topology (after removing leftovers of a crashed run with the same prefix),
  // starts the apps and waits (bounded) until each answers on its first TCP port. Throws
  // std::runtime_error when an app does not come up; the destructor still cleans up.
  explicit LabGround(const LabGroundSpec& spec);
  ~LabGround();
  LabGround(const LabGround&) = delete;
  LabGround& operator=(const LabGround&) = delete;

  const lab::Topology& topo() const { return topo_; }
  const lab::TopologyPlan& plan() const { return plan_; }
  // The sandbox addresses, "198.18.1<i>.2".
  std::string sandbox(std::size_t i) const;
  std::string sandbox6(std::size_t i) const;  // its IPv6 address
  state::Member member(std::size_t i, state::MemberState s = state::MemberState::running) const;
  std::vector<state::Member> members(const std::vector<std::size_t>& which) const;
  std::vector<state::Member> all_members() const;
  // Namespaces of this prefix still listed in /run/netns (for leak checks after destroy()).
  std::vector<std::string> leftovers() const;
  // Stops the apps and removes the namespaces now (idempotent; the destructor calls it).
  void destroy();

 private:
  lab::TopologyPlan plan_;
  lab::Topology topo_;
  std::vector<lab::NsProcess> apps_;
  std::optional<lab::CgroupDir> cgroup_;  // lab_cgroup(topo_): the node's processes
  bool built_ = false;
};

// Which sandbox answered a WHO, "" on no answer or an unparsable one.
std::string who_sandbox(const lab::ProbeResult& r);

}  // namespace portway::itest
