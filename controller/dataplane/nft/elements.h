// What the state puts into the table's sets and maps, element by element, in nft syntax.
// One writer serves the full render (an empty table, a repair) and the incremental update
// (the entities a diff touches, before and after), so the two can never disagree.
//
// Elements that belong to one Service carry a comment naming it (and the port, for frontends
// and node ports): svc_addrs, svc_fe, svc_rej, svc_tport, svc_disp/svc_noep, np_sets, np_fe,
// np_rej, np_tport, np_disp/np_noep. Slots, draining members and backend addresses carry none
// (they are many, or shared between Services).
//
// Per entity:
//   frontend        svc_fe, svc_rej, svc_tport, and svc_disp (goto pick_svc_<N>) or svc_noep
//   service address svc_addrs (-> set number), svc_slots (address . slot -> running backend)
//   node port       np_sets, np_fe, np_rej, np_tport, np_disp or np_noep, np_slots
// Slot tables (and so the pick chain of each svc_disp/np_disp element) come from SlotTables.
//   backend set     draining (set number . address) for its draining members
//   backend address be_pkts, be_new, hairpin (shared when two sets list one address); with
//                   an IPv6 address be_pkts6, be_new6, hairpin6; both be_addr6
//   node address    node_addrs / node_addrs6 (not part of the state: the node's settings and
//                   uplinks)
// IPv6 frontends write the *6 sets; a node port writes np_noep6/np_disp6 and np_slots6 for its
// IPv6 side besides the shared np_* elements. IPv6 slot tables hold members (by their IPv4
// key, as every slot table) that have an IPv6 address; their elements name that address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/nft/layout.h"
#include "dataplane/nft/set_numbers.h"
#include "dataplane/nft/slot_tables.h"
#include "state/dataplane_state.h"

namespace portway::dataplane::nft {

class ElementSink {
 public:
  virtual ~ElementSink() = default;
  // `data` is empty for the elements of a plain set; `comment` is empty or the output of
  // element_comment() (comment.h), which names the Service and port the element belongs to.
  virtual void put(SetName set, std::string key, std::string data, std::string comment) = 0;
};

// nft text of the values that appear in keys and data.
std::string ipv4_text(net::Ipv4 a);
std::string ipv6_text(const net::Ipv6& a);  // as nft prints it (inet_ntop)
std::string address_text(const state::IpAddress& a);
std::string frontend_key_text(const state::FrontendKey& k);  // "198.19.0.7 . tcp . 80", "2001:2:1::7 . tcp . 80"
std::string node_port_key_text(const state::NodePortKey& k);  // "tcp . 30080"

// The IPv4 addresses of a set's running members that have one, in address order: what IPv4
// frontends (and node ports over IPv4) deal their slots to.
std::vector<state::IpAddress> running_members(const state::BackendSet& set);
// The same for IPv6 frontends: the IPv6 addresses of the running members that have one.
std::vector<state::IpAddress> running6_members(const state::BackendSet& set);


class ElementWriter {
 public:
  // `numbers` must hold a number for every backend set of `state` that is written.
  ElementWriter(const state::DataplaneState& state, const SetNumbers& numbers, SlotTables& slots, ElementSink& out)
      : state_(state), numbers_(numbers), slots_(slots), out_(out) {}

  void frontend(const state::Frontend& f);
  void service_address(const state::IpAddress& address, const state::BackendSet& set);
  void node_port(const state::NodePort& n);
  void draining_members(const state::BackendSet& set);
  // The per-address elements of a member, for each family it has an address of.
  void backend_address(const state::MemberKey& member);
  void node_address(net::Ipv4 address);
  void node_address(const net::Ipv6& address);

  // Every element of the state.
  void all();

 private:
  const state::BackendSet& set_of(const std::string& id) const;
  std::uint32_t number(const std::string& id) const;

  const state::DataplaneState& state_;
  const SetNumbers& numbers_;
  SlotTables& slots_;
  ElementSink& out_;
};

}  // namespace portway::dataplane::nft
