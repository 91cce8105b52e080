#include "state/dataplane_state.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace portway::state {
namespace {

template <class T>
void sort_by_key(std::vector<T>& v) {
  std::sort(v.begin(), v.end(), [](const T& a, const T& b) { return a.key < b.key; });
}

template <class T>
const T* find_by_key(std::span<const T> v, const decltype(T::key)& key) {
  const auto it = std::lower_bound(v.begin(), v.end(), key,
                                   [](const T& e, const auto& k) { return e.key < k; });
  return it != v.end() && it->key == key ? &*it : nullptr;
}

}  // namespace

std::string to_string(const IpAddress& a) {
  return std::visit([](const auto& x) { return net::to_string(x); }, a);
}

std::string_view to_string(MemberState s) { return s == MemberState::running ? "running" : "draining"; }

std::string to_string(const FrontendKey& k) {
  const std::string addr = std::holds_alternative<net::Ipv6>(k.address)
                               ? "[" + to_string(k.address) + "]"
                               : to_string(k.address);
  return addr + ":" + std::to_string(k.port) + "/" + std::string(config::to_string(k.protocol));
}

std::string to_string(const NodePortKey& k) {
  return "node_port " + std::to_string(k.node_port) + "/" + std::string(config::to_string(k.protocol));
}

std::string to_string(const MemberKey& k) {
  std::string out = k.ipv4 ? net::to_string(*k.ipv4) : "";
  if (k.ipv6) out += (out.empty() ? "" : "/") + net::to_string(*k.ipv6);
  return out.empty() ? "(no address)" : out;
}

std::string to_string(const Member& m) { return to_string(m.key()) + " " + std::string(to_string(m.state)); }

namespace {

// The member invariants of dataplane_state.h (two members with one key share an address).
void check_members(const BackendSet& set) {
  std::set<net::Ipv4> v4;
  std::set<net::Ipv6> v6;
  for (std::size_t m = 0; m < set.members.size(); ++m) {
    const Member& member = set.members[m];
    if (!member.ipv4 && !member.ipv6)
      throw std::invalid_argument("backend set " + set.id + " has a member without any address");
    if (member.ipv4 && !v4.insert(*member.ipv4).second)
      throw std::invalid_argument("backend set " + set.id + " lists " + net::to_string(*member.ipv4) + " twice");
    if (member.ipv6 && !v6.insert(*member.ipv6).second)
      throw std::invalid_argument("backend set " + set.id + " lists " + net::to_string(*member.ipv6) + " twice");
  }
}

}  // namespace

DataplaneState DataplaneState::from_parts(std::vector<Frontend> frontends,
                                          std::vector<NodePort> node_ports,
                                          std::vector<BackendSet> backend_sets) {
  sort_by_key(frontends);
  sort_by_key(node_ports);
  std::sort(backend_sets.begin(), backend_sets.end(),
            [](const BackendSet& a, const BackendSet& b) { return a.id < b.id; });

  for (std::size_t i = 1; i < frontends.size(); ++i) {
    if (frontends[i - 1].key == frontends[i].key)
      throw std::invalid_argument("duplicate frontend " + to_string(frontends[i].key));
  }
  for (std::size_t i = 1; i < node_ports.size(); ++i) {
    if (node_ports[i - 1].key == node_ports[i].key)
      throw std::invalid_argument("duplicate " + to_string(node_ports[i].key));
  }
  for (std::size_t i = 0; i < backend_sets.size(); ++i) {
    BackendSet& set = backend_sets[i];
    if (i > 0 && backend_sets[i - 1].id == set.id)
      throw std::invalid_argument("duplicate backend set " + set.id);
    std::sort(set.members.begin(), set.members.end());
    check_members(set);
  }

  DataplaneState s;
  s.frontends_ = std::move(frontends);
  s.node_ports_ = std::move(node_ports);
  s.backend_sets_ = std::move(backend_sets);
  for (const Frontend& f : s.frontends_) {
    if (!s.find_backend_set(f.backend_set))
      throw std::invalid_argument("frontend " + to_string(f.key) + " names unknown backend set " + f.backend_set);
  }
  for (const NodePort& n : s.node_ports_) {
    if (!s.find_backend_set(n.backend_set))
      throw std::invalid_argument(to_string(n.key) + " names unknown backend set " + n.backend_set);
  }
  return s;
}

const Frontend* DataplaneState::find(const FrontendKey& key) const {
  return find_by_key(frontends(), key);
}

const NodePort* DataplaneState::find(const NodePortKey& key) const {
  return find_by_key(node_ports(), key);
}

const BackendSet* DataplaneState::find_backend_set(std::string_view id) const {
  const auto it = std::lower_bound(backend_sets_.begin(), backend_sets_.end(), id,
                                   [](const BackendSet& s, std::string_view k) { return s.id < k; });
  return it != backend_sets_.end() && it->id == id ? &*it : nullptr;
}

}  // namespace portway::state
