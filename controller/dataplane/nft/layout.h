// The fixed shape of the nftables dataplane: one table `inet portway`, a fixed list of sets and
// maps that hold everything per frontend and per backend as ELEMENTS, a fixed skeleton of
// chains, and one small "pick" chain per slot-table size M (slot_tables.h). docs/nftables.md explains
// the layout and why it is not kube-proxy's chain-per-endpoint layout (measured: chains and
// anonymous sets make the kernel transaction superlinear; elements of a few big maps do not).
//
// Every name here is a constant or a number portway computed; user text reaches the table only
// as element comments, made safe by comment.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portway::dataplane::nft {

inline constexpr std::string_view kFamily = "inet";
inline constexpr std::string_view kTable = "portway";
inline constexpr std::string_view kTableRef = "inet portway";

// The sets and maps of the table, in declaration order.
enum class SetName : std::uint8_t {
  svc_addrs,  // service address -> set number (also "is a service address": undeclared ports)
  svc_fe,     // every service frontend; element counter = packets/bytes towards it
  svc_rej,    // every service frontend; element counter = rejected new flows
  svc_noep,   // frontends without a running backend (rejected)
  svc_disp,   // frontends with running backends -> goto pick_svc_<M> (M: its slot table's size)
  svc_tport,  // frontend -> target port; element counter = new flows
  svc_slots,  // (service address, slot) -> running backend, slot in [0, M) (slot_tables.h)
  np_sets,    // node port -> set number
  np_fe,
  np_rej,
  np_noep,
  np_disp,
  np_tport,
  np_slots,   // (proto, node_port, slot) -> running backend
  draining,   // (set number, backend): members that keep flows but take no new ones
  be_pkts,    // backend address; element counter = packets/bytes sent to it after DNAT
  be_new,     // backend address; element counter = new flows DNATed to it
  hairpin,    // (backend, backend): a backend reaching itself gets masqueraded
  node_addrs, // the addresses node ports answer on (dataplane/node_addresses.h)
  // IPv6 (docs/nftables.md "IPv6"): the same roles keyed by IPv6 addresses. Node ports share
  // np_sets, np_fe, np_rej and np_tport (one frontend, counted over both families); what
  // depends on the members of a family (no backend, the slot table) is per family.
  svc_addrs6,
  svc_fe6,
  svc_rej6,
  svc_noep6,
  svc_disp6,
  svc_tport6,
  svc_slots6,  // (service address, slot) -> the IPv6 address of a running member that has one
  np_noep6,    // node ports whose set has no running member with an IPv6 address
  np_disp6,
  np_slots6,
  be_addr6,    // a member with both addresses: its IPv4 address -> its IPv6 address
  be_pkts6,
  be_new6,
  hairpin6,
  node_addrs6,
  draining6,   // (set number, IPv6 address): draining members without an IPv4 address
};
inline constexpr std::size_t kSetCount = 35;

// The fields of a key (each one 32-bit register wide in the kernel, as nft lays out
// concatenations) and the kind of data, to decode elements read back through netlink.
enum class Field : std::uint8_t { ipv4, proto, port, u32, ipv6 };
enum class Data : std::uint8_t { none, u32, ipv4, port, verdict, ipv6 };
// Bytes a field takes in a key: whole 32-bit registers.
inline constexpr std::size_t field_len(Field f) { return f == Field::ipv6 ? 16 : 4; }

struct SetDef {
  SetName id;
  std::string_view name;
  std::string_view declaration;  // what goes between { } in `add set|map`
  std::vector<Field> key;
  Data data;
  bool counter;  // per-element counters
  bool is_map() const { return data != Data::none; }
};

// "k<key bytes> d<data bytes|verdict|-> [counter]": what a set looks like to the kernel, to
// recognise one that someone re-created with another type.
std::string signature(const SetDef& d);
std::string signature(std::size_t key_len, bool map, bool verdict, std::size_t data_len, bool counter);

const std::array<SetDef, kSetCount>& set_defs();
const SetDef& def(SetName s);
std::string_view name_of(SetName s);

// Named counter objects: drops by reason (Stats::drops keys are these names).
inline constexpr std::array<std::string_view, 2> kDropCounters{"no_backend", "undeclared_port"};

// A base chain's hook; regular chains have none.
struct ChainDef {
  std::string name;
  std::string type;      // "filter" | "nat", empty for regular chains
  std::string hook;      // "prerouting" | "output" | "postrouting"
  int priority = 0;      // numeric, see docs/nftables.md for the why of each
  std::vector<std::string> rules;
  // What the chain does, for someone reading `nft list table`. The chains are shared by all
  // Services (the elements name them, comment.h), so this is a fixed text; only new chains get
  // it (the kernel keeps a chain's comment from its creation).
  std::string comment = {};
};

// The skeleton: every chain except the pick chains, with its rules.
const std::vector<ChainDef>& skeleton_chains();

// Pick chains: slot = jhash(5-tuple) mod M, DNAT to (slot's backend, frontend's target).
// Those for M <= kStandingPicks always exist: creating a chain makes the kernel re-validate
// every jump of the table at commit (a walk over all verdict-map elements, ~15 ms at 30,000
// frontends), so a slot table growing or shrinking must find its chain already there.
enum class PickKind : std::uint8_t { service, node_port, service6, node_port6 };
inline constexpr std::size_t kPickKinds = 4;
inline constexpr std::uint32_t kStandingPicks = 128;
std::string pick_chain_name(PickKind k, std::uint32_t slots);
ChainDef pick_chain(PickKind k, std::uint32_t slots);
// Parses a pick chain name; false for any other name.
bool parse_pick_chain(std::string_view name, PickKind& kind, std::uint32_t& slots);

// `add chain inet portway NAME { type ... hook ... priority ...; policy accept; }` and the like.
std::string add_chain_command(const ChainDef& c);

}  // namespace portway::dataplane::nft
