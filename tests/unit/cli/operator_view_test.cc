// The operator's views without a kernel: stats nesting, deltas and rates; durations; the
// status summary; dump rows naming Services (also for nft sets the read-back could not name).
#include <gtest/gtest.h>

#include "ops/age_text.h"
#include "ops/dump_view.h"
#include "ops/stats_tree.h"
#include "ops/status_text.h"

namespace portway::ops {
namespace {

using nlohmann::json;

dataplane::Stats two_services() {
  dataplane::Stats s;
  s.frontends["198.18.0.7:53/udp"] = {100, 6400, 10, 1};
  s.frontends["node:5353/udp"] = {4, 256, 4, 0};
  s.frontends["198.18.0.9:80/tcp"] = {7, 700, 1, 0};
  s.backends["svc/dns/resolver 198.18.10.2"] = {104, 6656, 14, 0};
  s.backends["svc/web/web 198.18.11.2"] = {7, 700, 1, 0};
  s.frontend_owners["198.18.0.7:53/udp"] = {"svc/dns/resolver", "dns", "udp"};
  s.frontend_owners["node:5353/udp"] = {"svc/dns/resolver", "dns", "udp"};
  s.frontend_owners["198.18.0.9:80/tcp"] = {"svc/web/web", "http", "tcp"};
  s.backend_owners["svc/dns/resolver 198.18.10.2"] = {"svc/dns/resolver", "198.18.10.2"};
  s.backend_owners["svc/web/web 198.18.11.2"] = {"svc/web/web", "198.18.11.2"};
  s.drops["no_backend"] = 3;
  return s;
}

TEST(StatsTree, BackendsAreNestedUnderTheServiceOfTheirFrontends) {
  const json j = stats_tree_json(two_services(), CounterView::total, std::chrono::duration<double>(0));
  ASSERT_EQ(j["services"].size(), 2u);
  const json& dns = j["services"][0];
  EXPECT_EQ(dns["service"], "svc/dns/resolver");
  ASSERT_EQ(dns["frontends"].size(), 2u);
  EXPECT_EQ(dns["frontends"][0]["port"], "dns");
  ASSERT_EQ(dns["backends"].size(), 1u);
  EXPECT_EQ(dns["backends"][0]["address"], "198.18.10.2");
  EXPECT_EQ(dns["backends"][0]["counters"]["packets"], 104);
  EXPECT_EQ(j["services"][1]["service"], "svc/web/web");

  const std::string text = stats_tree_text(two_services(), "xdp", CounterView::total, std::chrono::duration<double>(0));
  EXPECT_NE(text.find("svc/dns/resolver\n  198.18.0.7:53/udp (dns)"), std::string::npos) << text;
  EXPECT_NE(text.find("\n    -> 198.18.10.2 "), std::string::npos) << text;
  EXPECT_NE(text.find("no_backend"), std::string::npos) << text;
}

TEST(StatsTree, CountersNoServiceOwnsAreKeptUnderNoService) {
  dataplane::Stats s = two_services();
  s.frontends["198.18.0.99:1/tcp"] = {1, 60, 1, 0};
  const json j = stats_tree_json(s, CounterView::total, std::chrono::duration<double>(0));
  EXPECT_TRUE(j["services"][0]["service"].is_null()) << j.dump();
  EXPECT_EQ(j["services"][0]["frontends"][0]["frontend"], "198.18.0.99:1/tcp");
}

TEST(StatsTree, DeltaSubtractsAndARecreatedCounterCountsFromZero) {
  const dataplane::Stats before = two_services();
  dataplane::Stats after = two_services();
  after.frontends["198.18.0.7:53/udp"].packets += 30;
  after.backends["svc/web/web 198.18.11.2"] = {2, 200, 1, 0};  // lower than before: maps recreated
  after.drops["no_backend"] = 5;
  const dataplane::Stats d = stats_delta(before, after);
  EXPECT_EQ(d.frontends.at("198.18.0.7:53/udp").packets, 30u);
  EXPECT_EQ(d.frontends.at("node:5353/udp").packets, 0u);
  EXPECT_EQ(d.backends.at("svc/web/web 198.18.11.2").packets, 2u);
  EXPECT_EQ(d.drops.at("no_backend"), 2u);
  EXPECT_EQ(d.frontend_owners, after.frontend_owners);
}

TEST(StatsTree, RateIsTheDeltaDividedByTheInterval) {
  dataplane::Stats d;
  d.frontends["198.18.0.7:53/udp"] = {30, 3000, 6, 0};
  d.frontend_owners["198.18.0.7:53/udp"] = {"svc/dns/resolver", "dns", "udp"};
  const json j = stats_tree_json(d, CounterView::rate, std::chrono::duration<double>(2.5));
  const json& c = j["services"][0]["frontends"][0]["counters"];
  EXPECT_DOUBLE_EQ(c["packets"].get<double>(), 12.0);
  EXPECT_DOUBLE_EQ(c["bytes"].get<double>(), 1200.0);
  EXPECT_DOUBLE_EQ(c["new_flows"].get<double>(), 2.4);
  const std::string text = stats_tree_text(d, "nft", CounterView::rate, std::chrono::duration<double>(2.5));
  EXPECT_NE(text.find("per second, over 2.5 s"), std::string::npos) << text;
  EXPECT_NE(text.find("12.0"), std::string::npos) << text;
}

TEST(AgeText, DurationsInTheUnitAnOperatorReads) {
  EXPECT_EQ(duration_text(850), "850 ms");
  EXPECT_EQ(duration_text(3200), "3.2 s");
  EXPECT_EQ(duration_text(42000), "42 s");
  EXPECT_EQ(duration_text(245000), "4 min 5 s");
  EXPECT_EQ(duration_text(7380000), "2 h 3 min");
  EXPECT_EQ(duration_text(273600000), "3 d 4 h");
  EXPECT_EQ(ago_text(0, 5000), "never");
  EXPECT_EQ(ago_text(2000, 5000), "3.0 s ago");
  EXPECT_EQ(ago_text(6000, 5000), "just now");
}

TEST(StatusText, AgesInsteadOfEpochTimesAndTheKernelsWord) {
  const std::int64_t now = 1'800'000'000'000;
  const json j{{"active", nullptr},
               {"kernel_note", "the last sync installed nft, but table inet portway does not exist in this network namespace"},
               {"last_sync", {{"dataplane", "nft"}, {"requested", "auto"}, {"reason", "no XDP on up0"},
                              {"last_sync_ms", now - 3000}, {"changes", 12}, {"daemon_pid", 0},
                              {"programmed_generation", 4}, {"last_programmed_ms", now - 3000}}},
               {"store_generation", 5},
               {"daemon", nullptr},
               {"attachments", json::array()},
               {"fill", {{"frontends", {{"used", 3}, {"capacity", nullptr}}}}}};
  const std::string text = status_text(j, now);
  EXPECT_EQ(text.rfind("active dataplane: none (requested auto; no XDP on up0)\n", 0), 0u) << text;
  EXPECT_NE(text.find("  kernel: the last sync installed nft, but table inet portway"), std::string::npos) << text;
  EXPECT_NE(text.find("last sync: 3.0 s ago, 12 changes, by portway sync"), std::string::npos) << text;
  EXPECT_NE(text.find("programmed generation: 4, 3.0 s ago (behind the store)"), std::string::npos) << text;
  EXPECT_NE(text.find("table frontends: 3\n"), std::string::npos) << text;
  EXPECT_EQ(text.find(std::to_string(now - 3000)), std::string::npos) << "no epoch times: " << text;
}

// The nft read-back names a set the store no longer names "nft-set-HEX": its members place it.
TEST(DumpView, ASetTheKernelCannotNameIsPlacedByItsMembers) {
  KernelDump d;
  d.dataplane = "nft";
  const net::Ipv4 member{0xC6120A02};  // 198.18.10.2
  const state::FrontendKey key{net::Ipv4{0xC6120007}, 53, config::Protocol::udp};
  d.installed = state::DataplaneState::from_parts({{key, 53, "nft-set-0badc0de", ""}}, {},
                                                  {{"nft-set-0badc0de", {{member, std::nullopt}}}});
  d.compiled = state::DataplaneState::from_parts({{key, 53, "svc/dns/resolver", "dns"}}, {},
                                                 {{"svc/dns/resolver", {{member, std::nullopt}}}});
  store::ServiceRecord rec;
  rec.id = "svc/dns/resolver";
  rec.app = "dns";
  rec.service = "resolver";
  d.services.push_back(rec);

  const json fe = frontends_json(d)["frontends"][0];
  EXPECT_EQ(fe["backend_set"], "nft-set-0badc0de");
  EXPECT_EQ(fe["service"], (json{{"id", "svc/dns/resolver"}, {"app", "dns"}, {"service", "resolver"}, {"port", "dns"}}));
  const json be = backends_json(d)["backends"][0];
  EXPECT_EQ(be["service"]["id"], "svc/dns/resolver");
  EXPECT_EQ(be["address"], "198.18.10.2");

  dataplane::ListedFlow ours;
  ours.protocol = 17;
  ours.client = net::Ipv4{0xC6120002};
  ours.client_port = 40000;
  ours.frontend = net::Ipv4{0xC6120007};
  ours.frontend_port = 53;
  ours.backend = member;
  ours.backend_port = 53;
  dataplane::ListedFlow theirs = ours;
  theirs.frontend_port = 54;  // someone else's DNAT in the same conntrack table
  const auto kept = portway_flows(d, {ours, theirs});
  ASSERT_EQ(kept.size(), 1u);
  const json flow = flows_json(d, kept)["flows"][0];
  EXPECT_EQ(flow["client"], "198.18.0.2");
  EXPECT_EQ(flow["service"]["id"], "svc/dns/resolver");
  EXPECT_NE(flows_text(d, kept).find("198.18.0.2:40000  198.18.0.7:53  198.18.10.2:53"), std::string::npos)
      << flows_text(d, kept);

  // An IPv6 flow prints its endpoints in brackets; JSON keeps the plain address.
  dataplane::ListedFlow v6 = ours;
  v6.client = *net::parse_ipv6("2001:2::2");
  v6.frontend = *net::parse_ipv6("2001:2:1::7");
  v6.backend = *net::parse_ipv6("2001:2:0:a::2");
  const json flow6 = flows_json(d, {v6})["flows"][0];
  EXPECT_EQ(flow6["client"], "2001:2::2");
  EXPECT_EQ(flow6["backend"], "2001:2:0:a::2");
  EXPECT_NE(flows_text(d, {v6}).find("[2001:2::2]:40000  [2001:2:1::7]:53  [2001:2:0:a::2]:53"), std::string::npos)
      << flows_text(d, {v6});
}

// IPv6 flows of the fast path (pw_flows6): bracketed endpoints in the text, plain addresses in
// JSON, owned by the IPv6 frontend; a node-port flow is owned through the member's IPv6 address.
TEST(DumpView, Ipv6FlowsAreShownAndOwnedByTheirFrontend) {
  KernelDump d;
  d.dataplane = "xdp";
  const net::Ipv4 member{0xC6120A02};  // 198.18.10.2
  const net::Ipv6 member6 = *net::parse_ipv6("2001:2:0:10::2");
  const state::FrontendKey key6{*net::parse_ipv6("2001:2:0:ff::10"), 80, config::Protocol::tcp};
  const std::vector<state::BackendSet> sets{{"svc/web/web", {{member, member6}}}};
  d.installed = state::DataplaneState::from_parts({{key6, 7000, "svc/web/web", "http"}},
                                                  {{{30080, config::Protocol::tcp}, 7000, "svc/web/web", "http"}}, sets);
  d.compiled = d.installed;
  store::ServiceRecord rec;
  rec.id = "svc/web/web";
  rec.app = "web";
  rec.service = "web";
  d.services.push_back(rec);

  dataplane::ListedFlow f;
  f.protocol = 6;
  f.client = *net::parse_ipv6("2001:2::2");
  f.client_port = 40000;
  f.frontend = key6.address;
  f.frontend_port = 80;
  f.backend = member6;
  f.backend_port = 7000;
  dataplane::ListedFlow np = f;
  np.frontend = *net::parse_ipv6("2001:2::1");
  np.frontend_port = 30080;
  dataplane::ListedFlow stranger = f;
  stranger.frontend_port = 81;
  const auto kept = portway_flows(d, {f, np, stranger});
  ASSERT_EQ(kept.size(), 2u) << "the flow to an undeclared port is not portway's";
  const json flows = flows_json(d, kept)["flows"];
  EXPECT_EQ(flows[0]["client"], "2001:2::2");
  EXPECT_EQ(flows[0]["frontend"], "2001:2:0:ff::10");
  EXPECT_EQ(flows[0]["service"]["id"], "svc/web/web");
  EXPECT_EQ(flows[1]["service"]["id"], "svc/web/web");
  const std::string text = flows_text(d, kept);
  EXPECT_NE(text.find("[2001:2::2]:40000  [2001:2:0:ff::10]:80  [2001:2:0:10::2]:7000"), std::string::npos) << text;
  const json fe = frontends_json(d)["frontends"][0];
  EXPECT_EQ(fe["frontend"], "[2001:2:0:ff::10]:80/tcp");
  EXPECT_EQ(backends_json(d)["backends"][0]["ipv6"], "2001:2:0:10::2");
}

}  // namespace
}  // namespace portway::ops
