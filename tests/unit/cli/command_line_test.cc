#include "cli/command_line.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <vector>

namespace portway::cli {
namespace {

struct Parsed {
  std::optional<int> exit;
  std::string out;
  std::string err;
};

Parsed parse(CommandLine& line, std::vector<std::string> args) {
  std::ostringstream out, err;
  Parsed p;
  p.exit = line.parse(args, out, err);
  p.out = out.str();
  p.err = err.str();
  return p;
}

TEST(CommandLine, DeclaredFlagsAndPositionalsAreRead) {
  CommandLine line("portway test", "a test command");
  std::string state;
  bool json = false;
  std::vector<std::string> files;
  line.app().add_option("--state", state);
  line.app().add_flag("--json", json);
  line.app().add_option("files", files);
  const Parsed p = parse(line, {"--state=/tmp/a.db", "a.toml", "--json", "b.toml"});
  EXPECT_FALSE(p.exit.has_value()) << p.err;
  EXPECT_EQ(state, "/tmp/a.db");
  EXPECT_TRUE(json);
  EXPECT_EQ(files, (std::vector<std::string>{"a.toml", "b.toml"}));
}

TEST(CommandLine, AnUndeclaredFlagIsAUsageErrorNamingIt) {
  CommandLine line("portway test", "a test command");
  const Parsed p = parse(line, {"--stat", "x"});
  ASSERT_EQ(p.exit, 2);
  EXPECT_NE(p.err.find("--stat"), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("portway test --help"), std::string::npos) << p.err;
}

TEST(CommandLine, HelpAndVersionPrintAndStopWithZero) {
  CommandLine line("portway test", "a test command");
  const Parsed help = parse(line, {"-h"});
  EXPECT_EQ(help.exit, 0);
  EXPECT_NE(help.out.find("a test command"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--log-level"), std::string::npos) << help.out;

  CommandLine again("portway test", "a test command");
  const Parsed version = parse(again, {"--version"});
  EXPECT_EQ(version.exit, 0);
  EXPECT_NE(version.out.find("portway " PORTWAY_TEST_VERSION), std::string::npos) << version.out;
  EXPECT_NE(version.out.find("libbpf 1."), std::string::npos) << version.out;
}

TEST(CommandLine, VerbosityAndLogLevelSetTheLogger) {
  const auto before = spdlog::get_level();
  CommandLine v("portway test", "t");
  ASSERT_FALSE(parse(v, {"-vv"}).exit.has_value());
  EXPECT_EQ(spdlog::get_level(), spdlog::level::trace);
  CommandLine level("portway test", "t");
  ASSERT_FALSE(parse(level, {"--log-level", "warn"}).exit.has_value());
  EXPECT_EQ(spdlog::get_level(), spdlog::level::warn);
  CommandLine bad("portway test", "t");
  EXPECT_EQ(parse(bad, {"--log-level", "loud"}).exit, 2);
  spdlog::set_level(before);
}

}  // namespace
}  // namespace portway::cli
