#include "lab_ground.h"

#include "lab_dataplanes.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "netlink/netns.h"

namespace portway::itest {

LabGround::LabGround(const LabGroundSpec& spec) : plan_{spec.prefix, spec.sandboxes} {
  lab::destroy_topology(plan_);  // leftovers of a crashed run with the same prefix
  topo_ = lab::build_topology(plan_);
  built_ = true;
  cgroup_.emplace(lab_cgroup(topo_));
  try {
    for (std::size_t i = 0; i < topo_.sandboxes.size(); ++i) {
      std::vector<std::string> argv{PORTWAY_TESTAPP, "--id", "sb" + std::to_string(i)};
      for (auto p : spec.tcp_ports) argv.insert(argv.end(), {"--tcp", std::to_string(p)});
      for (auto p : spec.udp_ports) argv.insert(argv.end(), {"--udp", std::to_string(p)});
      argv.insert(argv.end(), {"--max-seconds", std::to_string(spec.app_seconds)});
      apps_.push_back(lab::NsProcess::spawn(topo_.sandboxes[i].netns, argv));
    }
    const std::uint16_t ready_port = spec.tcp_ports.at(0);
    for (const auto& sb : topo_.sandboxes) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (lab::tcp_probe(topo_.client_netns, net::to_string(sb.address), ready_port, "WHO\n",
                            std::chrono::milliseconds(200))
                 .status != lab::ProbeStatus::ok) {
        if (std::chrono::steady_clock::now() > deadline)
          throw std::runtime_error("test app in " + sb.netns + " did not start");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  } catch (...) {
    destroy();
    throw;
  }
}

LabGround::~LabGround() { destroy(); }

void LabGround::destroy() {
  apps_.clear();
  cgroup_.reset();
  if (built_) lab::destroy_topology(plan_);
  built_ = false;
}

std::vector<std::string> LabGround::leftovers() const {
  std::vector<std::string> out;
  for (const auto& name : netlink::list_named_netns())
    if (name.rfind(plan_.prefix + "-", 0) == 0) out.push_back(name);
  return out;
}

std::string LabGround::sandbox(std::size_t i) const { return net::to_string(topo_.sandboxes.at(i).address); }

std::string LabGround::sandbox6(std::size_t i) const { return net::to_string(topo_.sandboxes.at(i).address6); }

state::Member LabGround::member(std::size_t i, state::MemberState s) const {
  // Every lab sandbox has both families, as a dual-stack sandbox's endpoint does.
  return {topo_.sandboxes.at(i).address, topo_.sandboxes.at(i).address6, s};
}

std::vector<state::Member> LabGround::members(const std::vector<std::size_t>& which) const {
  std::vector<state::Member> m;
  for (auto i : which) m.push_back(member(i));
  return m;
}

std::vector<state::Member> LabGround::all_members() const {
  std::vector<state::Member> m;
  for (std::size_t i = 0; i < topo_.sandboxes.size(); ++i) m.push_back(member(i));
  return m;
}

std::string who_sandbox(const lab::ProbeResult& r) {
  lab::WhoAnswer who;
  return r.status == lab::ProbeStatus::ok && lab::parse_who(r.reply, who) ? who.sandbox : "";
}

}  // namespace portway::itest
