// The representable part of a diff (representable_diff.h):
// patching what is installed with it gives exactly what the dataplane implements of the new
// desired state, for the changes a daemon hands over: a member drains, a member changes only
// its IPv6 address, IPv6 frontends come and go, a set gains or loses its last user, a set
// of IPv6 frontends only.
#include <gtest/gtest.h>

#include "dataplane/nft/representable.h"
#include "dataplane/nft/representable_diff.h"
#include "state/diff.h"
#include "states.h"

namespace portway::dataplane::nft::testing {
namespace {

state::Member dual(const char* v4, const char* v6, MemberState st = MemberState::running) {
  state::Member m = member(v4, st);
  m.ipv6 = net::parse_ipv6(v6).value();
  return m;
}

state::Frontend frontend6(const char* v6, std::uint16_t port, const std::string& set) {
  state::Frontend f;
  f.key = {net::parse_ipv6(v6).value(), port, Protocol::tcp};
  f.target_port = port;
  f.backend_set = set;
  f.port_name = "p";
  return f;
}

state::DataplaneState base() {
  return state::DataplaneState::from_parts(
      {frontend("198.19.0.7", 80, Protocol::tcp, 7000, "web"), frontend6("2001:2::7", 80, "web"),
       frontend("198.19.0.8", 5432, Protocol::tcp, 5432, "db")},
      {node_port(30080, Protocol::tcp, 7000, "web")},
      {{"web", {dual("198.18.10.2", "2001:2:10::2"), dual("198.18.11.2", "2001:2:11::2")}},
       {"db", {member("198.18.12.2")}},
       {"spare", {member("198.18.13.2")}}});  // no frontend uses it
}

// nft: patch(representable(a), representable_diff(diff(a, b))) == representable(b).
void expect_nft_patch_matches(const state::DataplaneState& a, const state::DataplaneState& b) {
  const auto ra = representable(a), rb = representable(b);
  const state::DataplaneState& installed = ra.of(a);
  const InstalledIndex index = InstalledIndex::build(installed, PickUses{});
  const state::StateDiff r = representable_diff(state::diff(a, b), installed, index, b);
  EXPECT_EQ(state::patch(installed, r), rb.of(b));
}

void expect_both(const state::DataplaneState& a, const state::DataplaneState& b) {
  expect_nft_patch_matches(a, b);
  // And back again.
  expect_nft_patch_matches(b, a);
}

TEST(RepresentableDiff, AMemberDrains) {
  expect_both(base(), with_members(base(), "web", {dual("198.18.10.2", "2001:2:10::2", MemberState::draining),
                                                   dual("198.18.11.2", "2001:2:11::2")}));
}

// A member is its address pair (docs/model.md "Address families"): a new IPv6 address makes
// it another member, removed and added.
TEST(RepresentableDiff, AMemberChangingOnlyItsIpv6AddressIsAnotherMemberOnNft) {
  const state::DataplaneState b =
      with_members(base(), "web", {dual("198.18.10.2", "2001:2:10::9"), dual("198.18.11.2", "2001:2:11::2")});
  expect_both(base(), b);
  const state::DataplaneState a = base();
  const auto ra = representable(a);
  const InstalledIndex index = InstalledIndex::build(ra.of(a), PickUses{});
  const state::StateDiff r = representable_diff(state::diff(a, b), ra.of(a), index, b);
  ASSERT_EQ(r.backend_sets.changed.size(), 1u) << "nft programs IPv6 frontends: the member's IPv6 slots move";
  EXPECT_EQ(r.backend_sets.changed[0].members.removed.size(), 1u);
  EXPECT_EQ(r.backend_sets.changed[0].members.added.size(), 1u);
}

// A set only IPv6 frontends use keeps only its members with an IPv6 address (the others can
// never be picked); an IPv4 user brings them back.
TEST(RepresentableDiff, ASetOfIpv6FrontendsOnlyKeepsItsIpv6Members) {
  const auto only6 = [](const std::vector<state::Member>& members) {
    return state::DataplaneState::from_parts({frontend6("2001:2::9", 80, "v6")}, {}, {{"v6", members}});
  };
  const state::DataplaneState a = only6({dual("198.18.10.2", "2001:2:10::2"), member("198.18.11.2")});
  const auto ra = representable(a);
  ASSERT_EQ(ra.of(a).backend_sets().size(), 1u);
  EXPECT_EQ(ra.of(a).backend_sets()[0].members.size(), 1u);
  expect_nft_patch_matches(a, only6({dual("198.18.10.2", "2001:2:10::2"), member("198.18.12.2")}));
  expect_nft_patch_matches(a, only6({dual("198.18.10.2", "2001:2:10::2"), dual("198.18.11.2", "2001:2:11::2")}));
  std::vector<state::Frontend> fs{frontend6("2001:2::9", 80, "v6"), frontend("198.19.0.9", 80, Protocol::tcp, 80, "v6")};
  const state::DataplaneState with_v4 = state::DataplaneState::from_parts(
      fs, {}, {{"v6", {dual("198.18.10.2", "2001:2:10::2"), member("198.18.11.2")}}});
  expect_nft_patch_matches(a, with_v4);
  expect_nft_patch_matches(with_v4, a);
}

TEST(RepresentableDiff, Ipv6FrontendsComeAndGo) {
  const state::DataplaneState a = base();
  const state::DataplaneState b = state::DataplaneState::from_parts(
      {frontend("198.19.0.7", 80, Protocol::tcp, 7000, "web"), frontend("198.19.0.8", 5432, Protocol::tcp, 5432, "db")},
      {a.node_ports().begin(), a.node_ports().end()}, {a.backend_sets().begin(), a.backend_sets().end()});
  expect_both(a, b);
}

TEST(RepresentableDiff, ASetGainingItsFirstUserOrLosingItsLastIsAddedOrRemoved) {
  const state::DataplaneState a = base();
  std::vector<state::Frontend> fs(a.frontends().begin(), a.frontends().end());
  fs.push_back(frontend("198.19.0.9", 80, Protocol::tcp, 80, "spare"));
  std::erase_if(fs, [](const state::Frontend& f) { return f.backend_set == "db"; });
  const state::DataplaneState b = state::DataplaneState::from_parts(
      fs, {a.node_ports().begin(), a.node_ports().end()}, {a.backend_sets().begin(), a.backend_sets().end()});
  expect_both(a, b);
}

TEST(RepresentableDiff, AnAddressUsedByTwoSetsIsRefused) {
  const state::DataplaneState a = base();
  std::vector<state::Frontend> fs(a.frontends().begin(), a.frontends().end());
  fs.push_back(frontend("198.19.0.7", 81, Protocol::tcp, 81, "db"));
  const state::DataplaneState b = state::DataplaneState::from_parts(
      fs, {a.node_ports().begin(), a.node_ports().end()}, {a.backend_sets().begin(), a.backend_sets().end()});
  const auto ra = representable(a);
  const InstalledIndex index = InstalledIndex::build(ra.of(a), PickUses{});
  EXPECT_THROW(representable_diff(state::diff(a, b), ra.of(a), index, b), std::invalid_argument);
}

}  // namespace
}  // namespace portway::dataplane::nft::testing
