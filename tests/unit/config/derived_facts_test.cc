// The derived facts (docs/config.md "Derived facts"): protocol, L4 Service need, PORT, the implicit
// web port, shorthand expansion. Cases Miren got wrong are called out.
#include <gtest/gtest.h>

#include "config/app_parser.h"
#include "model_support/app_text.h"

namespace portway::config {
namespace {

}  // namespace

// Readable failure output for port comparisons.
void PrintTo(const Port& p, std::ostream* os) {
  *os << "{" << p.name << " " << p.port << " " << to_string(p.type) << " " << to_string(p.protocol)
      << " node_port=" << p.node_port << (p.implicit ? " implicit" : "") << "}";
}

namespace {

using portway::testing::app_text;

App parse_ok(const std::string& text) {
  ParseOutcome out = parse_app(text, "t.toml");
  std::string errs;
  for (const auto& d : out.errors) errs += to_string(d) + "\n";
  EXPECT_TRUE(out.ok()) << errs;
  return out.app.value_or(App{});
}

const Service& only_service(const App& app) {
  EXPECT_EQ(app.services.size(), 1u);
  return app.services.at(0);
}

TEST(DerivedFacts, ProtocolIsUdpOnlyForUdp) {
  const App app =
      parse_ok(app_text("a", {{"s", 1, "h", "http"}, {"s", 2, "t", "tcp"}, {"s", 3, "u", "udp"}, {"s", 4, "o"}}));
  const auto& ports = only_service(app).ports;
  ASSERT_EQ(ports.size(), 4u);
  EXPECT_EQ(ports[0].protocol, Protocol::tcp);
  EXPECT_EQ(ports[1].protocol, Protocol::tcp);
  EXPECT_EQ(ports[2].protocol, Protocol::udp);
  EXPECT_EQ(ports[3].protocol, Protocol::tcp);
  EXPECT_EQ(ports[3].type, PortType::http) << "omitted type is http";
}

struct L4Case {
  const char* name;
  const char* body;
  bool l4;
};

void PrintTo(const L4Case& c, std::ostream* os) { *os << c.name; }

class L4ServiceTest : public ::testing::TestWithParam<L4Case> {};

TEST_P(L4ServiceTest, NeedsAnL4ServiceEntity) {
  const App app = parse_ok(std::string("name = \"a\"\n") + GetParam().body);
  EXPECT_EQ(only_service(app).l4_service, GetParam().l4);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, L4ServiceTest,
    ::testing::Values(
        L4Case{"http_only", "[[services.s.ports]]\nport = 80\nname = \"h\"\ntype = \"http\"\n", false},
        // Miren treated an omitted type as non-HTTP here and created a Service for it.
        L4Case{"omitted_type_Miren_bug", "[[services.s.ports]]\nport = 80\nname = \"h\"\n", false},
        L4Case{"tcp", "[[services.s.ports]]\nport = 80\nname = \"t\"\ntype = \"tcp\"\n", true},
        L4Case{"udp", "[[services.s.ports]]\nport = 80\nname = \"u\"\ntype = \"udp\"\n", true},
        L4Case{"http_with_node_port", "[[services.s.ports]]\nport = 80\nname = \"h\"\nnode_port = 30080\n", true},
        L4Case{"shorthand_tcp", "[services.s]\nport = 9000\nport_type = \"tcp\"\n", true},
        // Miren's shorthand handling dropped port_type = "udp" on one path.
        L4Case{"shorthand_udp_Miren_gap", "[services.s]\nport = 9000\nport_type = \"udp\"\n", true},
        L4Case{"shorthand_http", "[services.s]\nport = 9000\n", false},
        L4Case{"no_ports", "[services.s]\ncommand = \"x\"\n", false}),
    [](const auto& tc) { return std::string(tc.param.name); });

TEST(DerivedFacts, ShorthandExpandsToOnePortNamedAfterTheService) {
  const App app = parse_ok("name = \"a\"\n[services.worker]\nport = 9000\nport_type = \"udp\"\n");
  const Service& s = only_service(app);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_TRUE(s.shorthand);
  EXPECT_EQ(s.ports[0], (Port{"worker", 9000, PortType::udp, Protocol::udp, 0, false}));
}

TEST(DerivedFacts, ShorthandPortNameWins) {
  const App app = parse_ok("name = \"a\"\n[services.worker]\nport = 9000\nport_name = \"data\"\n");
  const Service& s = only_service(app);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0].name, "data");
  EXPECT_EQ(s.ports[0].type, PortType::http);
}

TEST(DerivedFacts, PortEnvIsTheFirstHttpPort) {
  const App app = parse_ok(app_text("a", {{"s", 7000, "t", "tcp"}, {"s", 8080, "h"}, {"s", 8081, "h2"}}));
  const Service& s = only_service(app);
  EXPECT_EQ(s.port_env, 8080);
}

TEST(DerivedFacts, PortEnvFallsBackToTheFirstPort) {
  const App app = parse_ok(app_text("a", {{"s", 27015, "g", "udp"}, {"s", 27016, "q", "tcp"}}));
  const Service& s = only_service(app);
  EXPECT_EQ(s.port_env, 27015);
}

TEST(DerivedFacts, NoPortsNoPortEnv) {
  const App app = parse_ok("name = \"a\"\n[services.s]\n");
  EXPECT_FALSE(only_service(app).port_env.has_value());
}

TEST(DerivedFacts, WebWithoutHttpPortGetsImplicit3000) {
  const App app = parse_ok(app_text("a", {{"web", 7000, "echo", "tcp"}}));
  const Service& s = only_service(app);
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[1], (Port{"http", 3000, PortType::http, Protocol::tcp, 0, true}));
  EXPECT_EQ(s.port_env, 3000);
  EXPECT_TRUE(s.l4_service) << "the tcp port still needs a Service";
}

TEST(DerivedFacts, BareWebServiceGetsImplicit3000AndNoL4Service) {
  const App app = parse_ok("name = \"a\"\n[services.web]\ncommand = \"x\"\n");
  const Service& s = only_service(app);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_TRUE(s.ports[0].implicit);
  EXPECT_EQ(s.port_env, 3000);
  EXPECT_FALSE(s.l4_service);
}

TEST(DerivedFacts, WebWithHttpPortGetsNoImplicitPort) {
  const App app = parse_ok(app_text("a", {{"web", 8080, "admin"}}));
  const Service& s = only_service(app);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.port_env, 8080);
}

TEST(DerivedFacts, ImplicitWebPortNeverCollidesWithADeclaredOne) {
  const App app = parse_ok(app_text("a", {{"web", 3000, "raw", "tcp"}}));
  const Service& s = only_service(app);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_FALSE(s.ports[0].implicit);
  EXPECT_EQ(s.port_env, 3000);
}

TEST(DerivedFacts, OnlyTheServiceNamedWebGetsTheImplicitPort) {
  const App app = parse_ok("name = \"a\"\n[services.webby]\n");
  const Service& s = only_service(app);
  EXPECT_TRUE(s.ports.empty());
}

TEST(DerivedFacts, ServicesAndPortsKeepFileOrder) {
  const App app = parse_ok(R"(name = "a"
[services.zeta]
port = 1
[services.alpha]
port = 2
[services.mid]
port = 3
)");
  ASSERT_EQ(app.services.size(), 3u);
  EXPECT_EQ(app.services[0].name, "zeta");
  EXPECT_EQ(app.services[1].name, "alpha");
  EXPECT_EQ(app.services[2].name, "mid");
  EXPECT_EQ(app.name, "a");
  EXPECT_NE(app.find_service("alpha"), nullptr);
  EXPECT_EQ(app.find_service("nope"), nullptr);
}

}  // namespace
}  // namespace portway::config
