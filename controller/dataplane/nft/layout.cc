#include "dataplane/nft/layout.h"

#include <charconv>
#include <stdexcept>

namespace portway::dataplane::nft {
namespace {

// The key of a service frontend and of a node port as the packet spells it.
constexpr std::string_view kSvcKey = "ip daddr . meta l4proto . th dport";
constexpr std::string_view kNpKey = "meta l4proto . th dport";
constexpr std::string_view kFlowHashSeed = "0x70777931";  // PW_FLOW_HASH_SEED
// Node ports answer on the node addresses only, as on the fast path (not on every local
// address: a sandbox gateway or a management address keeps its own services on those port
// numbers, and 127.0.0.1 is not served, see docs/nftables.md "Node ports").
constexpr std::string_view kNpLocal = "meta l4proto . th dport @np_sets ip daddr @node_addrs";
constexpr std::string_view kSvcKey6 = "ip6 daddr . meta l4proto . th dport";
constexpr std::string_view kNpLocal6 = "meta l4proto . th dport @np_sets ip6 daddr @node_addrs6";

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (const auto p : parts) s += p;
  return s;
}

}  // namespace

const std::array<SetDef, kSetCount>& set_defs() {
  using F = Field;
  const std::vector<Field> fe{F::ipv4, F::proto, F::port};
  const std::vector<Field> np{F::proto, F::port};
  const std::vector<Field> fe6{F::ipv6, F::proto, F::port};
  // typeof for the slot maps: jhash has no named type, and the key must match its width.
  static const std::array<SetDef, kSetCount> defs{{
      {SetName::svc_addrs, "svc_addrs", "type ipv4_addr : mark;", {F::ipv4}, Data::u32, false},
      {SetName::svc_fe, "svc_fe", "type ipv4_addr . inet_proto . inet_service; counter;", fe, Data::none, true},
      {SetName::svc_rej, "svc_rej", "type ipv4_addr . inet_proto . inet_service; counter;", fe, Data::none, true},
      {SetName::svc_noep, "svc_noep", "type ipv4_addr . inet_proto . inet_service;", fe, Data::none, false},
      {SetName::svc_disp, "svc_disp", "type ipv4_addr . inet_proto . inet_service : verdict;", fe, Data::verdict,
       false},
      {SetName::svc_tport, "svc_tport", "type ipv4_addr . inet_proto . inet_service : inet_service; counter;", fe,
       Data::port, true},
      {SetName::svc_slots, "svc_slots", "typeof ip daddr . jhash ip saddr mod 2 : ip daddr;", {F::ipv4, F::u32},
       Data::ipv4, false},
      {SetName::np_sets, "np_sets", "type inet_proto . inet_service : mark;", np, Data::u32, false},
      {SetName::np_fe, "np_fe", "type inet_proto . inet_service; counter;", np, Data::none, true},
      {SetName::np_rej, "np_rej", "type inet_proto . inet_service; counter;", np, Data::none, true},
      {SetName::np_noep, "np_noep", "type inet_proto . inet_service;", np, Data::none, false},
      {SetName::np_disp, "np_disp", "type inet_proto . inet_service : verdict;", np, Data::verdict, false},
      {SetName::np_tport, "np_tport", "type inet_proto . inet_service : inet_service; counter;", np, Data::port,
       true},
      {SetName::np_slots, "np_slots", "typeof meta l4proto . th dport . jhash ip saddr mod 2 : ip daddr;",
       {F::proto, F::port, F::u32}, Data::ipv4, false},
      {SetName::draining, "draining", "type mark . ipv4_addr;", {F::u32, F::ipv4}, Data::none, false},
      {SetName::be_pkts, "be_pkts", "type ipv4_addr; counter;", {F::ipv4}, Data::none, true},
      {SetName::be_new, "be_new", "type ipv4_addr; counter;", {F::ipv4}, Data::none, true},
      {SetName::hairpin, "hairpin", "type ipv4_addr . ipv4_addr;", {F::ipv4, F::ipv4}, Data::none, false},
      {SetName::node_addrs, "node_addrs", "type ipv4_addr;", {F::ipv4}, Data::none, false},
      {SetName::svc_addrs6, "svc_addrs6", "type ipv6_addr : mark;", {F::ipv6}, Data::u32, false},
      {SetName::svc_fe6, "svc_fe6", "type ipv6_addr . inet_proto . inet_service; counter;", fe6, Data::none, true},
      {SetName::svc_rej6, "svc_rej6", "type ipv6_addr . inet_proto . inet_service; counter;", fe6, Data::none, true},
      {SetName::svc_noep6, "svc_noep6", "type ipv6_addr . inet_proto . inet_service;", fe6, Data::none, false},
      {SetName::svc_disp6, "svc_disp6", "type ipv6_addr . inet_proto . inet_service : verdict;", fe6,
       Data::verdict, false},
      {SetName::svc_tport6, "svc_tport6", "type ipv6_addr . inet_proto . inet_service : inet_service; counter;",
       fe6, Data::port, true},
      {SetName::svc_slots6, "svc_slots6", "typeof ip6 daddr . jhash ip6 saddr mod 2 : ip6 daddr;",
       {F::ipv6, F::u32}, Data::ipv6, false},
      {SetName::np_noep6, "np_noep6", "type inet_proto . inet_service;", np, Data::none, false},
      {SetName::np_disp6, "np_disp6", "type inet_proto . inet_service : verdict;", np, Data::verdict, false},
      {SetName::np_slots6, "np_slots6", "typeof meta l4proto . th dport . jhash ip6 saddr mod 2 : ip6 daddr;",
       {F::proto, F::port, F::u32}, Data::ipv6, false},
      {SetName::be_addr6, "be_addr6", "type ipv4_addr : ipv6_addr;", {F::ipv4}, Data::ipv6, false},
      {SetName::be_pkts6, "be_pkts6", "type ipv6_addr; counter;", {F::ipv6}, Data::none, true},
      {SetName::be_new6, "be_new6", "type ipv6_addr; counter;", {F::ipv6}, Data::none, true},
      {SetName::hairpin6, "hairpin6", "type ipv6_addr . ipv6_addr;", {F::ipv6, F::ipv6}, Data::none, false},
      {SetName::node_addrs6, "node_addrs6", "type ipv6_addr;", {F::ipv6}, Data::none, false},
      {SetName::draining6, "draining6", "type mark . ipv6_addr;", {F::u32, F::ipv6}, Data::none, false},
  }};
  return defs;
}

std::string signature(std::size_t key_len, bool map, bool verdict, std::size_t data_len, bool counter) {
  std::string s = "k" + std::to_string(key_len) + " d";
  s += !map ? "-" : verdict ? "verdict" : std::to_string(data_len);
  if (counter) s += " counter";
  return s;
}

std::string signature(const SetDef& d) {
  const std::size_t data_len = d.data == Data::port ? 2 : d.data == Data::ipv6 ? 16 : 4;
  std::size_t key_len = 0;
  for (const Field f : d.key) key_len += field_len(f);
  return signature(key_len, d.is_map(), d.data == Data::verdict, data_len, d.counter);
}

const SetDef& def(SetName s) { return set_defs()[static_cast<std::size_t>(s)]; }
std::string_view name_of(SetName s) { return def(s).name; }

const std::vector<ChainDef>& skeleton_chains() {
  static const std::vector<ChainDef> chains = [] {
    std::vector<ChainDef> c;
    // Rejects run in filter chains just before DNAT (dstnat - 10), where the destination is
    // still the frontend. Only new flows are rejected: established flows of draining
    // backends must keep working after the last running backend went away. Original
    // direction only, so replies to a masqueraded hairpin source never count as node-port
    // traffic.
    c.push_back({"filter_prerouting", "filter", "prerouting", -110,
                 {"meta l4proto { tcp, udp } ct direction original jump frontend_check"},
                 "portway: reject new flows to frontends without a running backend (arriving traffic)"});
    c.push_back({"filter_output", "filter", "output", -110,
                 {"meta l4proto { tcp, udp } ct direction original jump frontend_check"},
                 "portway: reject new flows to frontends without a running backend (the node's own connections)"});
    c.push_back({"frontend_check", "", "", 0,
                 {"ip daddr @svc_addrs goto service_check", cat({kNpLocal, " goto node_port_check"}),
                  "ip6 daddr @svc_addrs6 goto service_check6", cat({kNpLocal6, " goto node_port_check6"})},
                 "portway: service address or node port?"});
    c.push_back({"service_check", "", "", 0,
                 {cat({"ct state new ", kSvcKey, " @svc_noep ", kSvcKey,
                       " @svc_rej counter name \"no_backend\" goto reject_flow"}),
                  cat({kSvcKey, " @svc_fe return"}),
                  // Any other port or protocol of a service address.
                  "ct state new counter name \"undeclared_port\" goto reject_flow"},
                 "portway: service frontends: no backend or undeclared port is rejected"});
    c.push_back({"node_port_check", "", "", 0,
                 {cat({"ct state new ", kNpKey, " @np_noep ", kNpKey,
                       " @np_rej counter name \"no_backend\" goto reject_flow"}),
                  cat({kNpKey, " @np_fe return"})},
                 "portway: node ports: no backend is rejected"});
    // The same for IPv6 destinations. Node ports keep their shared elements (np_fe, np_rej);
    // only "no running member of this family" is per family.
    c.push_back({"service_check6", "", "", 0,
                 {cat({"ct state new ", kSvcKey6, " @svc_noep6 ", kSvcKey6,
                       " @svc_rej6 counter name \"no_backend\" goto reject_flow"}),
                  cat({kSvcKey6, " @svc_fe6 return"}),
                  "ct state new counter name \"undeclared_port\" goto reject_flow"},
                 "portway: IPv6 service frontends: no backend or undeclared port is rejected"});
    c.push_back({"node_port_check6", "", "", 0,
                 {cat({"ct state new ", kNpKey, " @np_noep6 ", kNpKey,
                       " @np_rej counter name \"no_backend\" goto reject_flow"}),
                  cat({kNpKey, " @np_fe return"})},
                 "portway: IPv6 node ports: no backend is rejected"});
    // icmpx: ICMP port unreachable for IPv4, ICMPv6 port unreachable for IPv6; TCP gets a
    // reset, as the fast path sends.
    c.push_back({"reject_flow", "", "", 0,
                 {"meta l4proto tcp reject with tcp reset", "reject with icmpx type port-unreachable"},
                 "portway: TCP reset or ICMP port unreachable"});
    // DNAT at the standard dstnat priority, for traffic arriving (prerouting) and for
    // connections the node itself opens (output).
    c.push_back({"nat_prerouting", "nat", "prerouting", -100, {"meta l4proto { tcp, udp } jump dispatch"},
                 "portway: DNAT of arriving traffic"});
    c.push_back({"nat_output", "nat", "output", -100, {"meta l4proto { tcp, udp } jump dispatch"},
                 "portway: DNAT of the node's own connections"});
    c.push_back({"dispatch", "", "", 0,
                 {cat({kSvcKey, " vmap @svc_disp"}), cat({kNpLocal, " ", kNpKey, " vmap @np_disp"}),
                  cat({kSvcKey6, " vmap @svc_disp6"}), cat({kNpLocal6, " ", kNpKey, " vmap @np_disp6"})},
                 "portway: frontend to its pick chain (svc_disp and np_disp elements name the Service)"});
    // srcnat: NAT chains see the first packet of a flow only, which is what "new flows per
    // backend" counts. Masquerade only a backend that reached itself (hairpin); everybody
    // else keeps their source address.
    c.push_back({"nat_postrouting", "nat", "postrouting", 100,
                 {"ct status dnat ip daddr @be_new",
                  "ct status dnat ip saddr . ip daddr @hairpin masquerade",
                  "ct status dnat ip6 daddr @be_new6",
                  "ct status dnat ip6 saddr . ip6 daddr @hairpin6 masquerade"},
                 "portway: new flows per backend; masquerade a backend reaching itself"});
    // Every packet towards a backend, after DNAT and before srcnat.
    c.push_back({"backend_count", "filter", "postrouting", 90,
                 {"ct direction original ct status dnat ip daddr @be_pkts",
                  "ct direction original ct status dnat ip6 daddr @be_pkts6"},
                 "portway: packets and bytes per backend"});
    return c;
  }();
  return chains;
}

namespace {

std::string_view pick_prefix(PickKind k) {
  switch (k) {
    case PickKind::service: return "pick_svc_";
    case PickKind::node_port: return "pick_np_";
    case PickKind::service6: return "pick_svc6_";
    case PickKind::node_port6: return "pick_np6_";
  }
  return "pick_";
}

}  // namespace

std::string pick_chain_name(PickKind k, std::uint32_t slots) {
  return std::string(pick_prefix(k)) + std::to_string(slots);
}

ChainDef pick_chain(PickKind k, std::uint32_t slots) {
  if (slots == 0) throw std::invalid_argument("a pick chain needs at least one slot");
  const std::string m = std::to_string(slots);
  std::string rule, what;
  if (k == PickKind::service || k == PickKind::node_port) {
    // The fast path's flow hash (include/portway/lb_abi.h: jhash2 of saddr, daddr, the ports,
    // the protocol, with its seed) scaled to [0, M) the same way (nft_hash.c reciprocal_scale);
    // the ports word is the four port bytes as on the wire (tests/integration/nft_jhash_test.cc).
    // The port mapping needs the protocol pinned in the same rule.
    const std::string pick =
        cat({"jhash ip saddr . ip daddr . @th,0,32 . meta l4proto mod ", m, " seed ", kFlowHashSeed});
    rule = k == PickKind::service
               ? cat({"meta l4proto { tcp, udp } dnat ip to ip daddr . ", pick, " map @svc_slots : ", kSvcKey,
                      " map @svc_tport"})
               : cat({"meta l4proto { tcp, udp } dnat ip to ", kNpKey, " . ", pick, " map @np_slots : ", kNpKey,
                      " map @np_tport"});
    what = k == PickKind::service ? "service frontends" : "node ports";
  } else {
    // IPv6 hashes the source, the ports and the protocol: with both 128-bit addresses the
    // hash input, the slot key and the target-port key need more than nft's 16 registers
    // (nft 1.0.6 aborts on the rule). The destination adds nothing to a choice made within one
    // frontend's slot table: the address, or the node port's table, is fixed per table.
    const std::string pick = cat({"jhash ip6 saddr . @th,0,32 . meta l4proto mod ", m, " seed ", kFlowHashSeed});
    rule = k == PickKind::service6
               ? cat({"meta l4proto { tcp, udp } dnat ip6 to ip6 daddr . ", pick, " map @svc_slots6 : ", kSvcKey6,
                      " map @svc_tport6"})
               : cat({"meta l4proto { tcp, udp } dnat ip6 to ", kNpKey, " . ", pick, " map @np_slots6 : ", kNpKey,
                      " map @np_tport"});
    what = k == PickKind::service6 ? "IPv6 service frontends" : "IPv6 node ports";
  }
  std::string comment = cat({"portway: pick 1 of ", m, " slots by flow hash (", what, ")"});
  return {pick_chain_name(k, slots), "", "", 0, {std::move(rule)}, std::move(comment)};
}

bool parse_pick_chain(std::string_view name, PickKind& kind, std::uint32_t& slots) {
  std::string_view rest;
  bool found = false;
  for (const PickKind k : {PickKind::service, PickKind::node_port, PickKind::service6, PickKind::node_port6}) {
    if (name.starts_with(pick_prefix(k))) {
      kind = k;
      rest = name.substr(pick_prefix(k).size());
      found = true;
    }
  }
  if (!found) return false;
  if (rest.empty() || rest.front() == '0') return false;
  const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), slots);
  return ec == std::errc{} && ptr == rest.data() + rest.size();
}

std::string add_chain_command(const ChainDef& c) {
  std::string s = cat({"add chain ", kTableRef, " ", c.name});
  // The chain comments are constants of this file: plain ASCII without quotes.
  const std::string comment = c.comment.empty() ? "" : cat({"comment \"", c.comment, "\"; "});
  if (!c.type.empty()) {
    s += cat({" { type ", c.type, " hook ", c.hook, " priority ", std::to_string(c.priority), "; policy accept; ",
              comment, "}"});
  } else if (!comment.empty()) {
    s += cat({" { ", comment, "}"});
  }
  return s;
}

}  // namespace portway::dataplane::nft
