// Which Services an app wants and what they hold (docs/model.md "Service entities"): the
// derivation half of Miren's launcher tests, table-driven over app.toml text.
#include <gtest/gtest.h>

#include "model/wanted.h"
#include "model_support/app_text.h"
#include "model_support/fixtures.h"

namespace portway::model {
namespace {

using config::PortType;
using config::Protocol;
using store::ServicePort;
using testing::app_text;
using testing::parse_app;

std::vector<std::string> ids(const std::vector<WantedService>& w) {
  std::vector<std::string> out;
  for (const auto& s : w) out.push_back(s.id);
  return out;
}

TEST(WantedServices, WhichServicesGetAnEntity) {
  struct Case {
    const char* what;
    std::string toml;
    std::vector<std::string> want;
  } cases[] = {
      {"non-HTTP ports", app_text("irc", {{"irc", 6667, "irc", "tcp"}}), {"svc/irc/irc"}},
      {"http only: none", app_text("site", {{"web", 8080, "http", "http"}}), {}},
      {"omitted type is http: none", app_text("site", {{"web", 8080, "http"}}), {}},
      {"shorthand tcp port", R"(name = "legacy"
[services.worker]
port = 9000
port_type = "tcp"
)", {"svc/legacy/worker"}},
      {"shorthand without type is http: none", R"(name = "legacy"
[services.worker]
port = 9000
)", {}},
      {"http port with a node_port", app_text("site", {{"admin", 8080, "http", "http", 30080}}),
       {"svc/site/admin"}},
      {"several services, file order, http-only skipped",
       app_text("game", {{"web", 3000, "admin"}, {"server", 27015, "game", "udp"}, {"aux", 53, "dns", "udp"}}),
       {"svc/game/server", "svc/game/aux"}},
      {"a service with no ports: none", R"(name = "idle"
[services.batch]
command = "./run"
)", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(ids(wanted_services(parse_app(c.toml))), c.want);
  }
}

TEST(WantedServices, CarryLabelsSelectorAndEveryPort) {
  const auto w = wanted_services(parse_app(app_text("tcp-echo", {{"echo", 3000, "health", "http"},
                                                                 {"echo", 7000, "echo", "tcp", 7000},
                                                                 {"echo", 7001, "echo-udp", "udp"}})));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].app, "tcp-echo");
  EXPECT_EQ(w[0].service, "echo");
  EXPECT_EQ(w[0].labels, (store::Labels{{"app", "tcp-echo"}, {"service", "echo"}, {"managed-by", "portway"}}));
  EXPECT_EQ(w[0].selector, (store::Selector{"tcp-echo", "echo"}));
  EXPECT_EQ(w[0].ports, (std::vector<ServicePort>{
                            {"health", 3000, 3000, Protocol::tcp, PortType::http, 0},
                            {"echo", 7000, 7000, Protocol::tcp, PortType::tcp, 7000},
                            {"echo-udp", 7001, 7001, Protocol::udp, PortType::udp, 0},
                        }));
}

TEST(WantedServices, ShorthandExpandsToOnePort) {
  const auto w = wanted_services(parse_app(R"(name = "legacy"
[services.worker]
port = 9000
port_name = "data"
port_type = "tcp"
)"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].ports, (std::vector<ServicePort>{{"data", 9000, 9000, Protocol::tcp, PortType::tcp, 0}}));
}

TEST(ServiceId, IsCollisionFree) {
  EXPECT_EQ(service_id("irc", "irc"), "svc/irc/irc");
  // Miren's svc/<app>-<service> gave both of these "svc/a-b-c".
  EXPECT_NE(service_id("a-b", "c"), service_id("a", "b-c"));
  EXPECT_EQ(service_id("a-b", "c"), "svc/a-b/c");
  EXPECT_EQ(service_id("a", "b-c"), "svc/a/b-c");
}

TEST(WantedClaims, EveryNodePortOrderedByPortThenProtocol) {
  const auto claims = wanted_claims(parse_app(app_text("dns", {{"resolver", 53, "dns-udp", "udp", 5353},
                                                               {"resolver", 53, "dns-tcp", "tcp", 5353},
                                                               {"admin", 8080, "http", "http", 3080}})));
  EXPECT_EQ(claims, (std::vector<store::NodePortClaim>{{3080, Protocol::tcp, "dns", "admin"},
                                                       {5353, Protocol::tcp, "dns", "resolver"},
                                                       {5353, Protocol::udp, "dns", "resolver"}}));
}

}  // namespace
}  // namespace portway::model
