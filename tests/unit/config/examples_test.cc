// The shipped examples (testdata/apps, copies of shared/examples) give the spec's answers.
#include <gtest/gtest.h>

#include "config/app_parser.h"
#include "config/text_input.h"

namespace portway::config {
namespace {

App load(const std::string& name) {
  const ReadResult r = read_config_file(std::string(PORTWAY_EXAMPLES_DIR) + "/" + name);
  EXPECT_FALSE(r.io_error) << *r.io_error;
  ParseOutcome out = parse_app(r.text, name);
  for (const auto& d : out.errors) ADD_FAILURE() << to_string(d);
  return out.app.value_or(App{});
}

TEST(Examples, Irc) {
  const App app = load("irc.toml");
  EXPECT_EQ(app.name, "irc");
  ASSERT_EQ(app.services.size(), 1u);
  const Service& s = app.services[0];
  EXPECT_TRUE(s.l4_service);
  EXPECT_EQ(s.port_env, 6667);
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[1], (Port{"irc-tls", 6697, PortType::tcp, Protocol::tcp, 6697, false}));
}

TEST(Examples, TcpEcho) {
  const App app = load("tcp-echo.toml");
  ASSERT_EQ(app.services.size(), 1u);
  const Service& s = app.services[0];
  EXPECT_TRUE(s.l4_service);
  EXPECT_EQ(s.port_env, 3000) << "the http health port comes first";
  EXPECT_EQ(s.ports[1].node_port, 7000);
}

TEST(Examples, GameHasAnHttpOnlyWebAndAnL4Server) {
  const App app = load("game.toml");
  ASSERT_EQ(app.services.size(), 2u);
  EXPECT_EQ(app.services[0].name, "web");
  EXPECT_FALSE(app.services[0].l4_service);
  EXPECT_EQ(app.services[0].ports.size(), 1u) << "web declares http 3000: no implicit port";
  EXPECT_EQ(app.services[1].name, "server");
  EXPECT_TRUE(app.services[1].l4_service);
  EXPECT_EQ(app.services[1].port_env, 27015);
  EXPECT_EQ(app.services[1].ports[0].protocol, Protocol::udp);
}

TEST(Examples, DnsSharesPort53AndNodePort5353AcrossProtocols) {
  const App app = load("dns.toml");
  ASSERT_EQ(app.services.size(), 1u);
  const auto& ports = app.services[0].ports;
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0].protocol, Protocol::udp);
  EXPECT_EQ(ports[1].protocol, Protocol::tcp);
  EXPECT_EQ(ports[0].node_port, 5353);
  EXPECT_EQ(ports[1].node_port, 5353);
}

TEST(Examples, LegacyWorkerShorthand) {
  const App app = load("legacy-worker.toml");
  ASSERT_EQ(app.services.size(), 1u);
  const Service& s = app.services[0];
  EXPECT_TRUE(s.shorthand);
  EXPECT_TRUE(s.l4_service);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0], (Port{"data", 9000, PortType::tcp, Protocol::tcp, 0, false}));
}

}  // namespace
}  // namespace portway::config
