// apply and delete as whole transactions: the equivalents of Miren's deploy tests (node-port
// conflicts between apps, none within a redeploy, intra-app duplicates), plus released claims,
// exhaustion rolling back everything, and app delete.
#include <gtest/gtest.h>

#include "config/app_parser.h"
#include "model/app_ops.h"
#include "model/errors.h"
#include "model_support/app_text.h"
#include "model_support/fixtures.h"

namespace portway::model {
namespace {

using config::Protocol;
using testing::app_text;
using testing::parse_app;
using testing::pools;

std::string one_port_app(const std::string& app, const std::string& service, int port,
                         const char* type, int node_port) {
  return app_text(app, {{service, port, "p", type, node_port}});
}

struct Everything {
  std::vector<store::AppRecord> apps;
  std::vector<store::ServiceRecord> services;
  std::vector<store::NodePortClaim> claims;
  std::uint64_t generation;
  bool operator==(const Everything&) const = default;
};

class AppOpsTest : public testing::StoreTest {
 protected:
  Everything everything() {
    auto tx = store_->begin_read();
    return {tx->apps(), tx->services(), tx->claims(), tx->generation()};
  }

  // Expects the apply to be rejected with exactly these reasons and to change nothing.
  void expect_rejected(const std::string& toml, const std::vector<std::string>& reasons,
                       const AddressPools& p) {
    const Everything before = everything();
    try {
      apply(toml, p);
      ADD_FAILURE() << "apply was accepted";
    } catch (const Rejected& e) {
      EXPECT_EQ(e.reasons(), reasons);
    }
    EXPECT_EQ(everything(), before) << "a rejected apply must change nothing";
  }
  void expect_rejected(const std::string& toml, const std::vector<std::string>& reasons) {
    expect_rejected(toml, reasons, pools_);
  }
};

TEST_F(AppOpsTest, NodePortConflictBetweenAppsNamesTheOwner) {
  apply(one_port_app("irc", "irc", 6697, "tcp", 6697));
  expect_rejected(one_port_app("other", "ircd", 7000, "tcp", 6697),
                  {R"(node_port 6697/tcp (service "ircd") is already in use by app "irc" service "irc")"});
}

TEST_F(AppOpsTest, EveryConflictIsReportedInPortOrder) {
  apply(app_text("dns", {{"resolver", 53, "dns-udp", "udp", 5353}, {"resolver", 53, "dns-tcp", "tcp", 5353}}));
  apply(one_port_app("irc", "irc", 6697, "tcp", 6697));
  expect_rejected(app_text("thief", {{"a", 1, "a", "tcp", 6697},
                                     {"b", 2, "b", "udp", 5353},
                                     {"b", 3, "c", "udp", 6697}}),
                  {R"(node_port 5353/udp (service "b") is already in use by app "dns" service "resolver")",
                   R"(node_port 6697/tcp (service "a") is already in use by app "irc" service "irc")"});
}

TEST_F(AppOpsTest, SamePortOtherProtocolIsNoConflict) {
  apply(one_port_app("a", "s", 53, "udp", 5353));
  EXPECT_NO_THROW(apply(one_port_app("b", "s", 53, "tcp", 5353)));
  EXPECT_EQ(claims().size(), 2u);
}

TEST_F(AppOpsTest, ClaimsHoldWhateverTheAppsScale) {
  // No sandbox is registered for "idle" (scaled to zero): its claim still stands.
  apply(one_port_app("idle", "game", 27015, "udp", 27015));
  expect_rejected(one_port_app("busy", "game", 27015, "udp", 27015),
                  {R"(node_port 27015/udp (service "game") is already in use by app "idle" service "game")"});
}

TEST_F(AppOpsTest, RedeployingTheSameAppKeepsItsClaim) {
  apply(one_port_app("irc", "irc", 6697, "tcp", 6697));
  EXPECT_NO_THROW(apply(one_port_app("irc", "irc", 6698, "tcp", 6697)));
  EXPECT_EQ(claims(), (std::vector<store::NodePortClaim>{{6697, Protocol::tcp, "irc", "irc"}}));
}

TEST_F(AppOpsTest, AClaimMayMoveBetweenServicesOfOneApp) {
  apply(one_port_app("irc", "old", 6697, "tcp", 6697));
  apply(one_port_app("irc", "new", 6697, "tcp", 6697));
  EXPECT_EQ(claims(), (std::vector<store::NodePortClaim>{{6697, Protocol::tcp, "irc", "new"}}));
  EXPECT_FALSE(service("svc/irc/old"));
  EXPECT_TRUE(service("svc/irc/new"));
}

TEST_F(AppOpsTest, IntraAppDuplicateIsRejectedBeforeTheStore) {
  const auto out = config::parse_app(
      app_text("dup", {{"a", 1, "a", "tcp", 30000}, {"b", 2, "b", "tcp", 30000}}), "app.toml");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.errors[0].message.find("both claim node_port 30000/tcp"), std::string::npos)
      << out.errors[0].message;
}

TEST_F(AppOpsTest, ClaimsAreReleasedWithThePortTheServiceOrTheApp) {
  const std::string claim = one_port_app("b", "s", 7000, "tcp", 30000);
  struct Case {
    const char* what;
    std::function<void()> release;
  } cases[] = {
      {"port lost its node_port", [&] { apply(one_port_app("a", "s", 7000, "tcp", 0)); }},
      {"service removed", [&] { apply(one_port_app("a", "other", 7000, "tcp", 0)); }},
      {"app deleted", [&] {
         auto tx = store_->begin_write();
         delete_app(*tx, "a");
         tx->commit();
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    apply(one_port_app("a", "s", 7000, "tcp", 30000));
    EXPECT_THROW(apply(claim), Rejected);
    c.release();
    EXPECT_NO_THROW(apply(claim));
    auto tx = store_->begin_write();
    delete_app(*tx, "b");
    if (tx->find_app("a")) delete_app(*tx, "a");
    tx->commit();
  }
}

TEST_F(AppOpsTest, AnExhaustedPoolRejectsTheWholeApply) {
  const auto tiny = pools("198.18.0.0/30");
  apply(one_port_app("first", "s", 1, "tcp", 0), tiny);
  expect_rejected(app_text("three", {{"a", 1, "a", "tcp"}, {"b", 1, "b", "tcp", 30001}}),
                  {"Service svc/three/b: no free IPv4 address: all 2 usable addresses of service_cidr "
                   "198.18.0.0/30 are allocated (widen it in the node settings, or delete an app)"},
                  tiny);
  EXPECT_FALSE(store_->begin_read()->find_app("three")) << "no app record, no claim, no Service a";
}

TEST_F(AppOpsTest, DeleteRemovesEverythingTheAppOwnedButNotSandboxes) {
  apply(app_text("tcp-echo", {{"echo", 7000, "echo", "tcp", 7000}}));
  const auto echo = *service("svc/tcp-echo/echo");
  {
    auto tx = store_->begin_write();
    tx->put_sandbox({"sb-1", "tcp-echo", "echo", {}, testing::ip4("198.18.100.1"), {}, "", store::SandboxState::running, 1});
    tx->commit();
  }
  DeleteResult r;
  {
    auto tx = store_->begin_write();
    r = delete_app(*tx, "tcp-echo");
    tx->commit();
  }
  EXPECT_EQ(r.services, std::vector<std::string>{"svc/tcp-echo/echo"});
  EXPECT_EQ(r.released_addresses,
            (std::vector<std::string>{net::to_string(*echo.ipv4), net::to_string(*echo.ipv6)}));
  EXPECT_EQ(r.released_claims, (std::vector<store::NodePortClaim>{{7000, Protocol::tcp, "tcp-echo", "echo"}}));
  auto tx = store_->begin_read();
  EXPECT_FALSE(tx->find_app("tcp-echo"));
  EXPECT_TRUE(tx->services().empty());
  EXPECT_TRUE(tx->claims().empty());
  EXPECT_EQ(tx->sandboxes().size(), 1u);
  tx.reset();
  // Re-created, it gets its old address back (its preferred one, now free again).
  apply(app_text("tcp-echo", {{"echo", 7000, "echo", "tcp"}}));
  EXPECT_EQ(service("svc/tcp-echo/echo")->ipv4, echo.ipv4);
}

TEST_F(AppOpsTest, DeletingAnUnknownAppIsRejected) {
  auto tx = store_->begin_write();
  try {
    delete_app(*tx, "ghost");
    FAIL();
  } catch (const Rejected& e) {
    EXPECT_EQ(e.reasons(), std::vector<std::string>{"app \"ghost\" is not applied"});
  }
}

TEST_F(AppOpsTest, CollidingMirenIdsAreDistinctServices) {
  apply(one_port_app("a-b", "c", 1000, "tcp", 0));
  apply(one_port_app("a", "b-c", 1000, "tcp", 0));
  const auto all = services();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "svc/a-b/c");
  EXPECT_EQ(all[1].id, "svc/a/b-c");
  EXPECT_NE(all[0].ipv4, all[1].ipv4);
}

TEST_F(AppOpsTest, AddressesSurviveManyDeploysAndARestart) {
  apply(one_port_app("game", "server", 27015, "udp", 0));
  const auto first = *service("svc/game/server");
  for (int port = 27016; port < 27026; ++port) apply(one_port_app("game", "server", port, "udp", 0));
  store_.reset();
  store_ = store::SqliteStore::open(path_);
  const auto last = *service("svc/game/server");
  EXPECT_EQ(last.ipv4, first.ipv4);
  EXPECT_EQ(last.ipv6, first.ipv6);
  EXPECT_EQ(last.revision, 11u);
}

store::ServiceRanges ranges(std::string_view cidr, std::string_view cidr6 = "") {
  return {testing::v4(cidr), cidr6.empty() ? std::nullopt : std::optional(testing::v6(cidr6))};
}

TEST_F(AppOpsTest, TheFirstRangesAreRecordedAndOthersRefused) {
  auto tx = store_->begin_write();
  EXPECT_FALSE(settle_service_ranges(*tx, ranges("198.18.0.0/24"), false, "from n.toml"));
  EXPECT_EQ(tx->service_ranges(), ranges("198.18.0.0/24"));
  EXPECT_FALSE(settle_service_ranges(*tx, ranges("198.18.0.0/24"), false, "from n.toml"));
  try {
    settle_service_ranges(*tx, ranges("198.18.0.0/24", "2001:2::/64"), false, "from m.toml");
    FAIL() << "another service_cidr6 was accepted";
  } catch (const Rejected& e) {
    EXPECT_NE(e.reasons().at(0).find("addressed from service_cidr 198.18.0.0/24, no service_cidr6 "
                                         "(recorded by the first apply), but this apply has service_cidr "
                                         "198.18.0.0/24, service_cidr6 2001:2::/64 (from m.toml)"),
              std::string::npos) << e.reasons().at(0);
  }
  EXPECT_EQ(tx->service_ranges(), ranges("198.18.0.0/24"));
  EXPECT_TRUE(settle_service_ranges(*tx, ranges("198.18.1.0/24"), true, "from m.toml"));
  EXPECT_EQ(tx->service_ranges(), ranges("198.18.1.0/24"));
}

TEST_F(AppOpsTest, AStoreWithoutRecordedRangesIsJudgedByItsAddresses) {
  // As a version-1 store: Services, no recorded ranges.
  {
    auto tx = store_->begin_write();
    apply_app(*tx, one_port_app("a", "s", 7000, "tcp", 0), parse_app(one_port_app("a", "s", 7000, "tcp", 0)),
              pools("198.18.0.0/24", ""), 1);
    tx->commit();
  }
  auto tx = store_->begin_write();
  EXPECT_THROW(settle_service_ranges(*tx, ranges("198.18.1.0/24"), false, "x"), Rejected);
  EXPECT_THROW(settle_service_ranges(*tx, ranges("198.18.0.0/24", "2001:2::/64"), false, "x"), Rejected)
      << "the Service has no IPv6 address: adding service_cidr6 moves it too";
  EXPECT_FALSE(tx->service_ranges());
  EXPECT_FALSE(settle_service_ranges(*tx, ranges("198.18.0.0/23"), false, "x")) << "wider, holds them all";
  EXPECT_EQ(tx->service_ranges(), ranges("198.18.0.0/23"));
}

}  // namespace
}  // namespace portway::model
