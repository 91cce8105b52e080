// The compiled dataplane state: what it holds for each Service, and that it is a pure,
// order-independent function of the store contents.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "model_support/app_text.h"
#include "model_support/fixtures.h"
#include "state/compile.h"
#include "state_builders.h"

namespace portway::state {
namespace {

using namespace builders;
using store::SandboxState;

Snapshot irc_and_dns() {
  Snapshot s;
  s.services = {
      service("irc", "irc", "198.18.0.7",
              {port("irc", 6667), port("irc-tls", 6697, Protocol::tcp, 6697, 16697)}),
      service("dns", "resolver", "198.18.0.9",
              {port("dns-udp", 53, Protocol::udp, 5353), port("dns-tcp", 53, Protocol::tcp, 5353)},
              "2001:2::9"),
  };
  s.claims = {{6697, Protocol::tcp, "irc", "irc"},
              {5353, Protocol::udp, "dns", "resolver"},
              {5353, Protocol::tcp, "dns", "resolver"}};
  s.sandboxes = {
      sandbox("irc-2", "irc", "irc", "198.18.100.2", SandboxState::draining),
      sandbox("irc-1", "irc", "irc", "198.18.100.1"),
      sandbox("irc-3", "irc", "irc", "198.18.100.3", SandboxState::stopped),
      sandbox("dns-1", "dns", "resolver", "198.18.101.1", SandboxState::running, "2001:2::101:1"),
  };
  return s;
}

TEST(Compile, FrontendsNodePortsAndBackendSets) {
  const DataplaneState st = compile(irc_and_dns());

  const std::vector<Frontend> frontends{
      {fkey("198.18.0.7", 6667), 6667, "svc/irc/irc", "irc"},
      {fkey("198.18.0.7", 6697), 16697, "svc/irc/irc", "irc-tls"},
      {fkey("198.18.0.9", 53, Protocol::tcp), 53, "svc/dns/resolver", "dns-tcp"},
      {fkey("198.18.0.9", 53, Protocol::udp), 53, "svc/dns/resolver", "dns-udp"},
      {fkey("2001:2::9", 53, Protocol::tcp), 53, "svc/dns/resolver", "dns-tcp"},
      {fkey("2001:2::9", 53, Protocol::udp), 53, "svc/dns/resolver", "dns-udp"},
  };
  EXPECT_EQ(std::vector<Frontend>(st.frontends().begin(), st.frontends().end()), frontends);

  const std::vector<NodePort> node_ports{
      {{5353, Protocol::tcp}, 53, "svc/dns/resolver", "dns-tcp"},
      {{5353, Protocol::udp}, 53, "svc/dns/resolver", "dns-udp"},
      {{6697, Protocol::tcp}, 16697, "svc/irc/irc", "irc-tls"},
  };
  EXPECT_EQ(std::vector<NodePort>(st.node_ports().begin(), st.node_ports().end()), node_ports);

  const std::vector<BackendSet> sets{
      {"svc/dns/resolver", {{member("198.18.101.1").ipv4, portway::testing::ip6("2001:2::101:1"), MemberState::running}}},
      {"svc/irc/irc", {member("198.18.100.1"), member("198.18.100.2", MemberState::draining)}},
  };
  EXPECT_EQ(std::vector<BackendSet>(st.backend_sets().begin(), st.backend_sets().end()), sets);
}

TEST(Compile, EachPortKeepsItsOwnTargetPort) {
  // Miren once sent every port to the first port's target.
  Snapshot s;
  s.services = {service("a", "s", "198.18.0.1", {port("x", 1000, Protocol::tcp, 0, 2000),
                                                 port("y", 1001, Protocol::tcp, 0, 3000)})};
  const auto st = compile(s);
  EXPECT_EQ(st.find(fkey("198.18.0.1", 1000))->target_port, 2000);
  EXPECT_EQ(st.find(fkey("198.18.0.1", 1001))->target_port, 3000);
}

TEST(Compile, AServiceWithoutEndpointsKeepsItsFrontendsAndAnEmptySet) {
  Snapshot s;
  s.services = {service("a", "s", "198.18.0.1", {port("x", 1000)})};
  s.sandboxes = {sandbox("sb", "a", "s", "198.18.100.1", SandboxState::stopped)};
  const auto st = compile(s);
  ASSERT_NE(st.find(fkey("198.18.0.1", 1000)), nullptr) << "so the dataplane can refuse, not drop";
  ASSERT_NE(st.find_backend_set("svc/a/s"), nullptr);
  EXPECT_TRUE(st.find_backend_set("svc/a/s")->members.empty());
}

TEST(Compile, NoEndpointLeakAcrossServicesOfOneApp) {
  Snapshot s;
  s.services = {service("shop", "web", "198.18.0.1", {port("http", 8080)}),
                service("shop", "admin", "198.18.0.2", {port("http", 8080)})};
  s.sandboxes = {sandbox("w", "shop", "web", "198.18.100.1"), sandbox("a", "shop", "admin", "198.18.100.2")};
  const auto st = compile(s);
  EXPECT_EQ(st.find_backend_set("svc/shop/web")->members, std::vector<Member>{member("198.18.100.1")});
  EXPECT_EQ(st.find_backend_set("svc/shop/admin")->members, std::vector<Member>{member("198.18.100.2")});
}

TEST(Compile, NodePortsNeedTheClaim) {
  Snapshot s;
  s.services = {service("a", "s", "198.18.0.1", {port("x", 1000, Protocol::tcp, 30000)}),
                service("b", "s", "198.18.0.2", {port("x", 1000, Protocol::tcp, 30000)})};
  s.claims = {{30000, Protocol::tcp, "b", "s"}};
  const auto st = compile(s);
  ASSERT_EQ(st.node_ports().size(), 1u);
  EXPECT_EQ(st.node_ports()[0].backend_set, "svc/b/s") << "only the claim owner forwards it";
  s.claims.clear();
  EXPECT_TRUE(compile(s).node_ports().empty());
}

TEST(Compile, DuplicateSandboxAddressesBecomeOneMember) {
  Snapshot s;
  s.services = {service("a", "s", "198.18.0.1", {port("x", 1000)})};
  s.sandboxes = {sandbox("old", "a", "s", "198.18.100.1", SandboxState::draining),
                 sandbox("new", "a", "s", "198.18.100.1", SandboxState::running)};
  EXPECT_EQ(compile(s).find_backend_set("svc/a/s")->members, std::vector<Member>{member("198.18.100.1")})
      << "running wins";
}

// docs/model.md "Address families": a member has the addresses its sandbox has; a Service has
// frontends of each family it has an address of, all on one set.
TEST(Compile, MembersOfOneFamilyAndOfBothShareOneSet) {
  Snapshot s;
  s.services = {service("a", "s", "198.18.0.1", {port("x", 1000)}, "2001:2::1")};
  s.sandboxes = {sandbox("v4", "a", "s", "198.18.100.1"),
                 sandbox("v6", "a", "s", nullptr, SandboxState::running, "2001:2::100:6"),
                 sandbox("both", "a", "s", "198.18.100.2", SandboxState::draining, "2001:2::100:2")};
  const DataplaneState st = compile(s);
  EXPECT_EQ(st.find_backend_set("svc/a/s")->members,
            (std::vector<Member>{member6("2001:2::100:6"), member("198.18.100.1"),
                                 member46("198.18.100.2", "2001:2::100:2", MemberState::draining)}))
      << "sorted by key: no IPv4 address first";
  ASSERT_EQ(st.frontends().size(), 2u);
  EXPECT_EQ(st.frontends()[0].key, fkey("198.18.0.1", 1000));
  EXPECT_EQ(st.frontends()[1].key, fkey("2001:2::1", 1000));
}

TEST(Compile, AnIpv6OnlyServiceHasNoIpv4Frontend) {
  Snapshot s;
  s.services = {service("a", "s", nullptr, {port("x", 1000), port("y", 53, Protocol::udp, 5353)}, "2001:2::1")};
  s.claims = {{5353, Protocol::udp, "a", "s"}};
  s.sandboxes = {sandbox("v6", "a", "s", nullptr, SandboxState::running, "2001:2::100:6")};
  const DataplaneState st = compile(s);
  ASSERT_EQ(st.frontends().size(), 2u);
  for (const Frontend& f : st.frontends()) EXPECT_TRUE(std::holds_alternative<net::Ipv6>(f.key.address)) << to_string(f.key);
  EXPECT_EQ(st.node_ports().size(), 1u) << "a node port answers in both families; its set decides who serves";
  EXPECT_EQ(st.find_backend_set("svc/a/s")->members, std::vector<Member>{member6("2001:2::100:6")});
}

// Hand-edited stores only (sandbox add refuses an address in use): no address is served twice.
TEST(Compile, SandboxesSharingAnIpv6AddressBecomeOneMember) {
  Snapshot s;
  s.services = {service("a", "s", "198.18.0.1", {port("x", 1000)}, "2001:2::1")};
  s.sandboxes = {sandbox("a-old", "a", "s", "198.18.100.1", SandboxState::draining, "2001:2::100:1"),
                 sandbox("b-new", "a", "s", nullptr, SandboxState::running, "2001:2::100:1"),
                 sandbox("c-other", "a", "s", "198.18.100.3")};
  EXPECT_EQ(compile(s).find_backend_set("svc/a/s")->members,
            (std::vector<Member>{member6("2001:2::100:1"), member("198.18.100.3")}))
      << "running wins over the lower sandbox id";
}

TEST(Compile, IsIndependentOfInputOrder) {
  Snapshot base = irc_and_dns();
  for (int i = 0; i < 20; ++i) {
    base.services.push_back(service("app" + std::to_string(i), "s",
                                    ("198.18.1." + std::to_string(i + 1)).c_str(), {port("p", 7000)}));
    base.sandboxes.push_back(sandbox("sb" + std::to_string(i), "app" + std::to_string(i), "s",
                                     ("198.18.200." + std::to_string(i + 1)).c_str()));
  }
  const DataplaneState want = compile(base);
  std::mt19937 rng(42);
  for (int round = 0; round < 10; ++round) {
    Snapshot shuffled = base;
    std::shuffle(shuffled.services.begin(), shuffled.services.end(), rng);
    std::shuffle(shuffled.sandboxes.begin(), shuffled.sandboxes.end(), rng);
    std::shuffle(shuffled.claims.begin(), shuffled.claims.end(), rng);
    EXPECT_EQ(compile(shuffled), want) << "round " << round;
  }
}

TEST(Compile, EmptyStoreCompilesToTheEmptyState) { EXPECT_EQ(compile(Snapshot{}), DataplaneState{}); }

// Through the real store: endpoints are level-triggered, so sandboxes registered before their
// Service existed are its endpoints as soon as it does (Miren missed them).
class CompileFromStore : public portway::testing::StoreTest {};

TEST_F(CompileFromStore, SandboxesRegisteredBeforeTheServiceAreItsEndpoints) {
  {
    auto tx = store_->begin_write();
    tx->put_sandbox(sandbox("early", "irc", "irc", "198.18.100.1"));
    tx->commit();
  }
  EXPECT_TRUE(compile(read_snapshot(*store_->begin_read())).backend_sets().empty());
  apply(portway::testing::app_text("irc", {{"irc", 6667, "irc", "tcp"}}));
  const auto st = compile(read_snapshot(*store_->begin_read()));
  ASSERT_NE(st.find_backend_set("svc/irc/irc"), nullptr);
  EXPECT_EQ(st.find_backend_set("svc/irc/irc")->members, std::vector<Member>{member("198.18.100.1")});
  // Draining is carried into the compiled value; stopped removes the member.
  for (auto [state, want] : {std::pair{SandboxState::draining, std::vector<Member>{member("198.18.100.1", MemberState::draining)}},
                             std::pair{SandboxState::stopped, std::vector<Member>{}}}) {
    auto tx = store_->begin_write();
    auto sb = *tx->find_sandbox("early");
    sb.state = state;
    tx->put_sandbox(sb);
    tx->commit();
    EXPECT_EQ(compile(read_snapshot(*store_->begin_read())).find_backend_set("svc/irc/irc")->members, want);
  }
}

TEST_F(CompileFromStore, SnapshotCarriesTheGeneration) {
  const auto g = generation();
  EXPECT_EQ(read_snapshot(*store_->begin_read()).generation, g);
}

}  // namespace
}  // namespace portway::state
