// The control-plane benchmarks' fleet: N Services, each with 3 ports (udp, tcp, tcp with a
// node port) and 10 running sandboxes, as the store would hand it to compile().
#pragma once

#include <string>

#include "model/wanted.h"
#include "state/compile.h"

namespace portway::bench {

inline constexpr int kBackends = 10;

// Benchmarking address ranges only (198.18.0.0/15): Services from 198.18.0.1 up, sandboxes
// from 198.18.64.0 up (110,000 sandbox addresses fit below 198.20.0.0).
inline state::Snapshot make_snapshot(int services) {
  using config::PortType;
  using config::Protocol;
  state::Snapshot s;
  s.services.reserve(static_cast<std::size_t>(services));
  s.sandboxes.reserve(static_cast<std::size_t>(services) * kBackends);
  for (int i = 0; i < services; ++i) {
    const std::string app = "app" + std::to_string(i);
    store::ServiceRecord svc;
    svc.id = model::service_id(app, "server");
    svc.app = app;
    svc.service = "server";
    svc.labels = {{"app", app}, {"service", "server"}, {"managed-by", "portway"}};
    svc.selector = {app, "server"};
    const auto node_port = static_cast<std::uint16_t>(10000 + i);
    svc.ports = {{"game", 7000, 7000, Protocol::udp, PortType::udp, 0},
                 {"query", 7001, 7001, Protocol::tcp, PortType::tcp, 0},
                 {"admin", 7002, 8002, Protocol::tcp, PortType::tcp, node_port}};
    svc.ipv4 = net::Ipv4{0xC6120001u + static_cast<std::uint32_t>(i)};
    svc.revision = 1;
    s.services.push_back(std::move(svc));
    s.claims.push_back({node_port, Protocol::tcp, app, "server"});
    for (int k = 0; k < kBackends; ++k) {
      const auto n = static_cast<std::uint32_t>(i * kBackends + k);
      // Labels as `portway sandbox add` stores them (app and service are always there).
      s.sandboxes.push_back({app + "-" + std::to_string(k), app, "server",
                             {{"app", app}, {"service", "server"}}, net::Ipv4{0xC6124000u + n},
                             {}, "veth" + std::to_string(n), store::SandboxState::running, 0});
    }
  }
  return s;
}

// The draining of one endpoint in the middle of the fleet.
inline state::Snapshot with_one_endpoint_changed(state::Snapshot s) {
  s.sandboxes[s.sandboxes.size() / 2 + 3].state = store::SandboxState::draining;
  return s;
}

}  // namespace portway::bench
