#include "dataplane/nft/flow_ends.h"

#include <netinet/in.h>

#include <algorithm>
#include <map>
#include <set>

namespace portway::dataplane::nft {
namespace {

std::uint8_t ip_proto(config::Protocol p) { return p == config::Protocol::tcp ? IPPROTO_TCP : IPPROTO_UDP; }

}  // namespace

std::vector<conntrack::FlowMatch> flows_to_end(const state::DataplaneState& before, const state::StateDiff& d) {
  std::set<conntrack::FlowMatch> out;

  std::map<std::string, std::vector<conntrack::Address>> gone;  // set id -> removed backend addresses
  const auto leave = [&](const std::string& id, const state::Member& m) {
    if (m.ipv4) gone[id].push_back(*m.ipv4);
    if (m.ipv6) gone[id].push_back(*m.ipv6);
  };
  for (const auto& set : d.backend_sets.removed)
    for (const auto& m : set.members) leave(set.id, m);
  for (const auto& c : d.backend_sets.changed) {
    for (const auto& m : c.members.removed) leave(c.id, m);
    // An address another member of the set still has (a member that only gained or lost its
    // address of the other family is removed and added under a new key) keeps its flows.
    auto& addresses = gone[c.id];
    std::erase_if(addresses, [&](const conntrack::Address& a) {
      return std::any_of(c.after.begin(), c.after.end(), [&](const state::Member& m) {
        return (m.ipv4 && a == conntrack::Address{*m.ipv4}) || (m.ipv6 && a == conntrack::Address{*m.ipv6});
      });
    });
    if (addresses.empty()) gone.erase(c.id);
  }

  if (!gone.empty()) {
    // The (protocol, target port) pairs through which each affected set was reached.
    std::map<std::string, std::set<std::pair<config::Protocol, std::uint16_t>>> targets;
    for (const auto& f : before.frontends())
      if (gone.contains(f.backend_set)) targets[f.backend_set].insert({f.key.protocol, f.target_port});
    for (const auto& n : before.node_ports())
      if (gone.contains(n.backend_set)) targets[n.backend_set].insert({n.key.protocol, n.target_port});
    for (const auto& [id, backends] : gone)
      for (const auto& [proto, port] : targets[id])
        for (const auto& b : backends) out.insert({ip_proto(proto), std::nullopt, std::nullopt, b, port});
  }
  for (const auto& f : d.frontends.removed) {
    const conntrack::Address a = std::visit([](const auto& x) { return conntrack::Address{x}; }, f.key.address);
    out.insert({ip_proto(f.key.protocol), a, f.key.port, std::nullopt, std::nullopt});
  }
  for (const auto& n : d.node_ports.removed)
    out.insert({ip_proto(n.key.protocol), std::nullopt, n.key.node_port, std::nullopt, n.target_port});
  return {out.begin(), out.end()};
}

}  // namespace portway::dataplane::nft
