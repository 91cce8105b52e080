// Small builders for snapshots and states in the compile and diff tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model_support/fixtures.h"
#include "state/compile.h"

namespace portway::state::builders {

using config::PortType;
using config::Protocol;

inline store::ServicePort port(const char* name, std::uint16_t p, Protocol proto = Protocol::tcp,
                               std::uint16_t node_port = 0, std::uint16_t target = 0) {
  return {name, p, target ? target : p, proto, proto == Protocol::udp ? PortType::udp : PortType::tcp, node_port};
}

inline store::ServiceRecord service(const std::string& app, const std::string& name, const char* v4,
                                    std::vector<store::ServicePort> ports, const char* v6 = nullptr) {
  store::ServiceRecord s;
  s.id = "svc/" + app + "/" + name;
  s.app = app;
  s.service = name;
  s.selector = {app, name};
  s.ports = std::move(ports);
  if (v4) s.ipv4 = portway::testing::ip4(v4);  // nullptr: an IPv6-only Service
  if (v6) s.ipv6 = portway::testing::ip6(v6);
  s.revision = 1;
  return s;
}

inline store::SandboxRecord sandbox(const std::string& id, const std::string& app,
                                    const std::string& service, const char* v4,
                                    store::SandboxState st = store::SandboxState::running,
                                    const char* v6 = nullptr) {
  store::SandboxRecord s{id, app, service, {}, {}, {}, "", st, 0};
  if (v4) s.ipv4 = portway::testing::ip4(v4);  // nullptr: an IPv6-only sandbox
  if (v6) s.ipv6 = portway::testing::ip6(v6);
  return s;
}

inline Member member(const char* v4, MemberState st = MemberState::running) {
  return {portway::testing::ip4(v4), std::nullopt, st};
}

inline Member member6(const char* v6, MemberState st = MemberState::running) {
  return {std::nullopt, portway::testing::ip6(v6), st};
}

inline Member member46(const char* v4, const char* v6, MemberState st = MemberState::running) {
  return {portway::testing::ip4(v4), portway::testing::ip6(v6), st};
}

inline FrontendKey fkey(const char* addr, std::uint16_t p, Protocol proto = Protocol::tcp) {
  if (auto a = net::parse_ipv4(addr)) return {*a, p, proto};
  return {portway::testing::ip6(addr), p, proto};
}

}  // namespace portway::state::builders
