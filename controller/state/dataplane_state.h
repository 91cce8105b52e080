// The desired dataplane state (docs/model.md "The compiled dataplane state"): one immutable value,
// compiled from the store by compile() (compile.h), compared and diffed (diff.h) so a
// dataplane programs only what changed. Both dataplanes, XDP/tc and nftables, consume it.
//
// What it holds:
//   frontends     (service address, port, protocol) -> target port + backend set
//   node ports    (node_port, protocol)             -> target port + backend set
//                 (valid on the node's local addresses only; docs/dataplane.md)
//   backend sets  one per Service, keyed by the Service id, with its members and their state
//
// Invariants, checked by from_parts() and guaranteed by compile():
//   - each list is sorted by its key and keys are unique;
//   - every frontend and node port names a backend set that exists;
//   - members of a backend set are sorted by their key (MemberKey: the pair of addresses),
//     each has at least one address, and no address of either family appears twice in a set.
// Hence two states are equal iff they program the same dataplane, and equal inputs give
// byte-identical states (deterministic order, no pointers, no hash-table iteration).
//
// Members: running members get new flows; draining ones only keep their established flows.
// A backend set may be empty: its frontends still exist and refuse traffic (TCP reset, ICMP
// port unreachable), which is why a Service with no endpoint is not simply absent.
// Families: a Service has frontends of each family it has an address of, all on one backend
// set. A member has an IPv4 address, an IPv6 address or both; a frontend of one family uses
// the members with an address of that family (docs/model.md "Address families").
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/app_model.h"
#include "net/ip_prefix.h"

namespace portway::state {

using config::Protocol;
using IpAddress = std::variant<net::Ipv4, net::Ipv6>;  // IPv4 sorts first
std::string to_string(const IpAddress& a);

// The order matters to nobody but is fixed: running < draining.
enum class MemberState : std::uint8_t { running, draining };
std::string_view to_string(MemberState s);

// What identifies a member within its set: its addresses, whichever families it has. Family-
// neutral, and what a dataplane can read back from the kernel (the sandbox id is not there).
// nullopt sorts first, so IPv6-only members come before the others.
struct MemberKey {
  std::optional<net::Ipv4> ipv4;
  std::optional<net::Ipv6> ipv6;

  // The address a member is named by where one name is shown (stats, dump): its IPv4 one if
  // it has one, else its IPv6 one.
  IpAddress primary() const { return ipv4 ? IpAddress{*ipv4} : IpAddress{*ipv6}; }
  auto operator<=>(const MemberKey&) const = default;
};

struct Member {
  std::optional<net::Ipv4> ipv4;  // for IPv4 frontends
  std::optional<net::Ipv6> ipv6;  // for IPv6 frontends
  MemberState state = MemberState::running;

  MemberKey key() const { return {ipv4, ipv6}; }
  // Whether frontends of the family of `a` use this member.
  bool serves(const IpAddress& a) const {
    return std::holds_alternative<net::Ipv4>(a) ? ipv4.has_value() : ipv6.has_value();
  }
  auto operator<=>(const Member&) const = default;  // key first, then state
};

struct BackendSet {
  std::string id;               // the Service id; what frontends refer to
  std::vector<Member> members;  // sorted by key, unique (see the invariants above)

  bool operator==(const BackendSet&) const = default;
};

struct FrontendKey {
  IpAddress address;
  std::uint16_t port = 0;
  Protocol protocol = Protocol::tcp;

  auto operator<=>(const FrontendKey&) const = default;
};

struct Frontend {
  FrontendKey key;
  std::uint16_t target_port = 0;  // DNAT to (member address, target_port)
  std::string backend_set;        // a BackendSet id
  std::string port_name;          // the Service port's name, for counters and logs

  bool operator==(const Frontend&) const = default;
};

struct NodePortKey {
  std::uint16_t node_port = 0;
  Protocol protocol = Protocol::tcp;

  auto operator<=>(const NodePortKey&) const = default;
};

struct NodePort {
  NodePortKey key;
  std::uint16_t target_port = 0;
  std::string backend_set;
  std::string port_name;

  bool operator==(const NodePort&) const = default;
};

struct StateDiff;  // diff.h

class DataplaneState {
 public:
  DataplaneState() = default;  // the empty state: nothing programmed

  // Sorts each list (and each set's members) and checks the invariants above; throws
  // std::invalid_argument naming the first violation. For producers other than compile()
  // (tests, a dataplane reading back what it installed).
  static DataplaneState from_parts(std::vector<Frontend> frontends, std::vector<NodePort> node_ports,
                                   std::vector<BackendSet> backend_sets);

  std::span<const Frontend> frontends() const { return frontends_; }
  std::span<const NodePort> node_ports() const { return node_ports_; }
  std::span<const BackendSet> backend_sets() const { return backend_sets_; }

  // Binary searches; nullptr when absent.
  const Frontend* find(const FrontendKey& key) const;
  const NodePort* find(const NodePortKey& key) const;
  const BackendSet* find_backend_set(std::string_view id) const;

  bool operator==(const DataplaneState&) const = default;

 private:
  friend class StateBuilder;  // compile(): builds in order, invariants hold by construction
  friend void patch_in_place(DataplaneState& s, const StateDiff& d);  // diff.h
  std::vector<Frontend> frontends_;
  std::vector<NodePort> node_ports_;
  std::vector<BackendSet> backend_sets_;
};

std::string to_string(const FrontendKey& k);  // "198.18.0.7:6667/tcp", "[2001:2::7]:53/udp"
std::string to_string(const NodePortKey& k);  // "node_port 6697/tcp"
std::string to_string(const MemberKey& k);    // "198.18.1.2", "198.18.1.2/2001:2::2", "2001:2::2"
std::string to_string(const Member& m);       // "198.18.1.2 running", "2001:2::2 draining"

}  // namespace portway::state
