#include "dataplane/nft/elements.h"

#include <algorithm>
#include <stdexcept>

#include "dataplane/nft/comment.h"

namespace portway::dataplane::nft {
namespace {

void append_u32(std::string& s, std::uint32_t v) {
  char buf[10];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) s.push_back(buf[--n]);
}

void append_ipv4(std::string& s, net::Ipv4 a) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    append_u32(s, (a.value >> shift) & 0xffu);
    if (shift) s.push_back('.');
  }
}

std::string_view proto_text(config::Protocol p) { return p == config::Protocol::tcp ? "tcp" : "udp"; }

std::string number_text(std::uint32_t v) {
  std::string s;
  append_u32(s, v);
  return s;
}

}  // namespace

std::string ipv4_text(net::Ipv4 a) {
  std::string s;
  s.reserve(15);
  append_ipv4(s, a);
  return s;
}

std::string ipv6_text(const net::Ipv6& a) { return net::to_string(a); }

std::string address_text(const state::IpAddress& a) {
  if (const auto* v4 = std::get_if<net::Ipv4>(&a)) return ipv4_text(*v4);
  return ipv6_text(std::get<net::Ipv6>(a));
}

std::string frontend_key_text(const state::FrontendKey& k) {
  std::string s;
  s.reserve(32);
  if (const auto* v4 = std::get_if<net::Ipv4>(&k.address)) append_ipv4(s, *v4);
  else s += ipv6_text(std::get<net::Ipv6>(k.address));
  s += " . ";
  s += proto_text(k.protocol);
  s += " . ";
  append_u32(s, k.port);
  return s;
}

std::string node_port_key_text(const state::NodePortKey& k) {
  std::string s(proto_text(k.protocol));
  s += " . ";
  append_u32(s, k.node_port);
  return s;
}

std::vector<state::IpAddress> running_members(const state::BackendSet& set) {
  std::vector<state::IpAddress> out;
  for (const auto& m : set.members)
    if (m.state == state::MemberState::running && m.ipv4) out.push_back(*m.ipv4);
  return out;  // members are sorted by key, IPv4 address first
}

std::vector<state::IpAddress> running6_members(const state::BackendSet& set) {
  std::vector<state::IpAddress> out;
  for (const auto& m : set.members)
    if (m.state == state::MemberState::running && m.ipv6) out.push_back(*m.ipv6);
  std::sort(out.begin(), out.end());  // IPv6-only members sort first by key, not by address
  return out;
}

const state::BackendSet& ElementWriter::set_of(const std::string& id) const {
  const state::BackendSet* s = state_.find_backend_set(id);
  if (!s) throw std::logic_error("nft: unknown backend set " + id);
  return *s;
}

std::uint32_t ElementWriter::number(const std::string& id) const {
  const auto n = numbers_.number_of(id);
  if (!n) throw std::logic_error("nft: backend set without a number: " + id);
  return *n;
}

void ElementWriter::frontend(const state::Frontend& f) {
  const std::string key = frontend_key_text(f.key);
  const bool v6 = std::holds_alternative<net::Ipv6>(f.key.address);
  const state::BackendSet& set = set_of(f.backend_set);
  const auto slots = static_cast<std::uint32_t>(
      slots_.table(address_text(f.key.address), v6 ? running6_members(set) : running_members(set)).size());
  const std::string comment = element_comment(f.backend_set, f.port_name);
  out_.put(v6 ? SetName::svc_fe6 : SetName::svc_fe, key, "", comment);
  out_.put(v6 ? SetName::svc_rej6 : SetName::svc_rej, key, "", comment);
  out_.put(v6 ? SetName::svc_tport6 : SetName::svc_tport, key, number_text(f.target_port), comment);
  if (slots > 0)
    out_.put(v6 ? SetName::svc_disp6 : SetName::svc_disp, key,
             "goto " + pick_chain_name(v6 ? PickKind::service6 : PickKind::service, slots), comment);
  else
    out_.put(v6 ? SetName::svc_noep6 : SetName::svc_noep, key, "", comment);
}

void ElementWriter::service_address(const state::IpAddress& address, const state::BackendSet& set) {
  const bool v6 = std::holds_alternative<net::Ipv6>(address);
  const std::string a = address_text(address);
  out_.put(v6 ? SetName::svc_addrs6 : SetName::svc_addrs, a, number_text(number(set.id)), element_comment(set.id, ""));
  const SlotTable& slots = slots_.table(a, v6 ? running6_members(set) : running_members(set));
  for (std::uint32_t i = 0; i < slots.size(); ++i) {
    std::string key = a + " . ";
    append_u32(key, i);
    out_.put(v6 ? SetName::svc_slots6 : SetName::svc_slots, std::move(key), address_text(slots[i]), "");
  }
}

void ElementWriter::node_port(const state::NodePort& n) {
  const std::string key = node_port_key_text(n.key);
  const state::BackendSet& set = set_of(n.backend_set);
  const SlotTable& slots = slots_.table(key, running_members(set));
  const std::string comment = element_comment(n.backend_set, n.port_name);
  out_.put(SetName::np_sets, key, number_text(number(set.id)), comment);
  out_.put(SetName::np_fe, key, "", comment);
  out_.put(SetName::np_rej, key, "", comment);
  out_.put(SetName::np_tport, key, number_text(n.target_port), comment);
  if (!slots.empty()) {
    out_.put(SetName::np_disp, key,
             "goto " + pick_chain_name(PickKind::node_port, static_cast<std::uint32_t>(slots.size())), comment);
  } else {
    out_.put(SetName::np_noep, key, "", comment);
  }
  for (std::uint32_t i = 0; i < slots.size(); ++i) {
    std::string slot = key + " . ";
    append_u32(slot, i);
    out_.put(SetName::np_slots, std::move(slot), address_text(slots[i]), "");
  }
  // The IPv6 side: its own slot table over the members with an IPv6 address.
  const SlotTable& slots6 = slots_.table(std::string(kNodePort6Book) + key, running6_members(set));
  if (!slots6.empty()) {
    out_.put(SetName::np_disp6, key,
             "goto " + pick_chain_name(PickKind::node_port6, static_cast<std::uint32_t>(slots6.size())), comment);
  } else {
    out_.put(SetName::np_noep6, key, "", comment);
  }
  for (std::uint32_t i = 0; i < slots6.size(); ++i) {
    std::string slot = key + " . ";
    append_u32(slot, i);
    out_.put(SetName::np_slots6, std::move(slot), address_text(slots6[i]), "");
  }
}

// A member is named by its IPv4 address where it has one (be_addr6 gives its IPv6 one on
// read-back), else by its IPv6 address in draining6.
void ElementWriter::draining_members(const state::BackendSet& set) {
  for (const auto& m : set.members) {
    if (m.state != state::MemberState::draining) continue;
    if (m.ipv4) out_.put(SetName::draining, number_text(number(set.id)) + " . " + ipv4_text(*m.ipv4), "", "");
    else out_.put(SetName::draining6, number_text(number(set.id)) + " . " + ipv6_text(*m.ipv6), "", "");
  }
}

void ElementWriter::backend_address(const state::MemberKey& member) {
  if (member.ipv4) {
    const std::string a = ipv4_text(*member.ipv4);
    out_.put(SetName::be_pkts, a, "", "");
    out_.put(SetName::be_new, a, "", "");
    out_.put(SetName::hairpin, a + " . " + a, "", "");
  }
  if (!member.ipv6) return;
  const std::string a6 = ipv6_text(*member.ipv6);
  if (member.ipv4) out_.put(SetName::be_addr6, ipv4_text(*member.ipv4), a6, "");
  out_.put(SetName::be_pkts6, a6, "", "");
  out_.put(SetName::be_new6, a6, "", "");
  out_.put(SetName::hairpin6, a6 + " . " + a6, "", "");
}

void ElementWriter::node_address(net::Ipv4 address) { out_.put(SetName::node_addrs, ipv4_text(address), "", ""); }
void ElementWriter::node_address(const net::Ipv6& address) {
  out_.put(SetName::node_addrs6, ipv6_text(address), "", "");
}

void ElementWriter::all() {
  const state::Frontend* previous = nullptr;
  for (const auto& f : state_.frontends()) {
    frontend(f);
    // Frontends are sorted with the address first: one service address per run.
    if (!previous || previous->key.address != f.key.address) service_address(f.key.address, set_of(f.backend_set));
    previous = &f;
  }
  for (const auto& n : state_.node_ports()) node_port(n);
  std::vector<state::MemberKey> members;
  for (const auto& set : state_.backend_sets()) {
    draining_members(set);
    for (const auto& m : set.members) members.push_back(m.key());
  }
  // A member of several sets (Services selecting one sandbox) is written once.
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  for (const auto& m : members) backend_address(m);
}

}  // namespace portway::dataplane::nft
