// Reading a table back: libnftables' JSON shapes, and the state a table implements, including
// tables that do not fit together (someone edited elements by hand).
#include <gtest/gtest.h>

#include "dataplane/nft/readback.h"
#include "dataplane/nft/reconstruct.h"
#include "states.h"
#include "table_model.h"

namespace portway::dataplane::nft {
namespace {

// Shapes copied from `nft -j list table inet portway` (nftables 1.0.6, Linux 6.18).
constexpr const char* kListing = R"({"nftables": [
 {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
 {"table": {"family": "inet", "name": "portway", "handle": 28}},
 {"table": {"family": "inet", "name": "foreign", "handle": 29}},
 {"counter": {"family": "inet", "name": "no_backend", "table": "portway", "handle": 4, "packets": 3, "bytes": 180}},
 {"map": {"family": "inet", "name": "svc_addrs", "table": "portway", "type": "ipv4_addr", "handle": 1, "map": "mark",
          "elem": [["198.19.0.7", 825598315]]}},
 {"set": {"family": "inet", "name": "svc_fe", "table": "portway", "type": ["ipv4_addr", "inet_proto", "inet_service"],
          "handle": 2, "elem": [{"elem": {"val": {"concat": ["198.19.0.7", "tcp", 80]},
                                          "counter": {"packets": 5, "bytes": 300}}}],
          "stmt": [{"counter": null}]}},
 {"map": {"family": "inet", "name": "svc_tport", "table": "portway", "type": ["ipv4_addr", "inet_proto", "inet_service"],
          "handle": 8, "map": "inet_service",
          "elem": [[{"elem": {"val": {"concat": ["198.19.0.7", "tcp", 80]}, "counter": {"packets": 2, "bytes": 120}}}, 7000]],
          "stmt": [{"counter": null}]}},
 {"map": {"family": "inet", "name": "svc_slots", "table": "portway", "type": ["ipv4_addr", "integer"], "handle": 9,
          "map": "ipv4_addr", "elem": [[{"concat": ["198.19.0.7", 0]}, "198.18.10.2"]]}},
 {"map": {"family": "inet", "name": "svc_disp", "table": "portway", "type": ["ipv4_addr", "inet_proto", "inet_service"],
          "handle": 10, "map": "verdict", "elem": [[{"concat": ["198.19.0.7", "tcp", 80]}, {"goto": {"target": "pick_svc_1"}}]]}},
 {"set": {"family": "inet", "name": "draining", "table": "portway", "type": ["mark", "ipv4_addr"], "handle": 11,
          "elem": [{"concat": [825598315, "198.18.11.2"]}]}},
 {"set": {"family": "inet", "name": "svc_noep", "table": "foreign", "type": "ipv4_addr", "handle": 1, "elem": ["1.2.3.4"]}},
 {"chain": {"family": "inet", "table": "portway", "name": "nat_prerouting", "handle": 3, "type": "nat",
            "hook": "prerouting", "prio": -100, "policy": "accept"}},
 {"chain": {"family": "inet", "table": "portway", "name": "dispatch", "handle": 4}},
 {"rule": {"family": "inet", "table": "portway", "chain": "dispatch", "handle": 5, "expr": []}},
 {"rule": {"family": "inet", "table": "portway", "chain": "dispatch", "handle": 6, "expr": []}}
]})";

TEST(NftReadBack, ParsesTheJsonListing) {
  const ReadBack rb = parse_listing(kListing);
  EXPECT_TRUE(rb.table);
  EXPECT_EQ(rb.counters.at("no_backend"), (Counter{3, 180}));
  EXPECT_EQ(rb.sets.at("svc_addrs").elements.at("198.19.0.7"), "825598315");
  EXPECT_EQ(rb.sets.at("svc_addrs").signature, signature(def(SetName::svc_addrs)));
  const auto& fe = rb.sets.at("svc_fe");
  EXPECT_EQ(fe.signature, signature(def(SetName::svc_fe)));
  EXPECT_EQ(fe.elements.count("198.19.0.7 . tcp . 80"), 1u);
  EXPECT_EQ(fe.counters.at("198.19.0.7 . tcp . 80"), (Counter{5, 300}));
  EXPECT_EQ(rb.sets.at("svc_tport").elements.at("198.19.0.7 . tcp . 80"), "7000");
  EXPECT_EQ(rb.sets.at("svc_tport").signature, signature(def(SetName::svc_tport)));
  EXPECT_EQ(rb.sets.at("svc_slots").elements.at("198.19.0.7 . 0"), "198.18.10.2");
  EXPECT_EQ(rb.sets.at("svc_slots").signature, signature(def(SetName::svc_slots)));
  EXPECT_EQ(rb.sets.at("svc_disp").elements.at("198.19.0.7 . tcp . 80"), "goto pick_svc_1");
  EXPECT_EQ(rb.sets.at("svc_disp").signature, signature(def(SetName::svc_disp)));
  EXPECT_EQ(rb.sets.at("draining").elements.count("825598315 . 198.18.11.2"), 1u);
  EXPECT_EQ(rb.sets.count("svc_noep"), 0u) << "a foreign table's set of the same name is not ours";
  EXPECT_EQ(rb.chains.at("nat_prerouting").priority, -100);
  EXPECT_EQ(rb.chains.at("dispatch").rules, 2u);
  EXPECT_TRUE(listing_has_table(kListing));
  EXPECT_FALSE(listing_has_table(R"({"nftables": [{"table": {"family": "ip", "name": "portway"}}]})"));
  EXPECT_THROW(parse_listing("[1, 2]"), std::runtime_error);
}

ReadBack modelled_table(const state::DataplaneState& s, const SetNumbers& numbers) {
  ReadBack rb;
  rb.table = true;
  const auto c = testing::contents_of(s, numbers);
  for (const SetDef& d : set_defs())
    for (const auto& [k, v] : c[static_cast<std::size_t>(d.id)]) rb.sets[std::string(d.name)].elements[k] = v;
  return rb;
}

TEST(NftReadBack, ReconstructsTheStateATableImplements) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  const Reconstructed r = reconstruct(modelled_table(s, numbers), numbers, &s);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.state, s);
}

TEST(NftReadBack, WithoutNamesSetsGetPlaceholdersAndPortsNoName) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  const Reconstructed r = reconstruct(modelled_table(s, numbers), SetNumbers{}, nullptr);
  ASSERT_EQ(r.state.backend_sets().size(), 2u);
  EXPECT_EQ(r.state.backend_sets()[0].id.substr(0, 8), "nft-set-");
  EXPECT_EQ(r.state.frontends()[0].port_name, "");
  EXPECT_EQ(r.state.frontends().size(), s.frontends().size());
}

TEST(NftReadBack, ElementsThatDoNotFitAreListedNotTrusted) {
  const auto s = testing::small_state();
  const auto numbers = testing::numbers_for(s);
  ReadBack rb = modelled_table(s, numbers);
  rb.sets["svc_addrs"].elements.erase("198.19.0.8");        // a frontend without its address
  rb.sets["svc_slots"].elements["10.1.1.1 . 0"] = "1.1.1.1";  // slots of no service address
  rb.sets["draining"].elements["garbage"] = "";
  const Reconstructed r = reconstruct(rb, numbers, &s);
  EXPECT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.state.frontends().size(), s.frontends().size() - 1);
}

TEST(NftReadBack, KeyTextRoundTrips) {
  state::FrontendKey k;
  ASSERT_TRUE(parse_frontend_key("198.19.0.7 . udp . 53", k));
  EXPECT_EQ(k, (state::FrontendKey{net::Ipv4{0xC6130007u}, 53, config::Protocol::udp}));
  EXPECT_FALSE(parse_frontend_key("198.19.0.7 . icmp . 53", k));
  EXPECT_FALSE(parse_frontend_key("198.19.0.7 . tcp . 70000", k));
  state::NodePortKey n;
  ASSERT_TRUE(parse_node_port_key("tcp . 30080", n));
  EXPECT_EQ(n.node_port, 30080);
  EXPECT_FALSE(parse_node_port_key("tcp . 30080 . 1", n));
}

}  // namespace
}  // namespace portway::dataplane::nft
