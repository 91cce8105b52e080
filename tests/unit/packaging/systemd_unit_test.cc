// The shipped systemd unit (packaging/systemd/portway.service) against what the daemon does:
// the capabilities it grants are exactly the ones the daemon keeps, the hardening the
// contract names is there (docs/operations.md "Running the daemon under systemd"), and
// systemd-analyze accepts it.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "daemon/capabilities.h"

namespace portway::daemon {
namespace {

namespace fs = std::filesystem;

const std::string kUnit = std::string(PORTWAY_SOURCE_DIR) + "/packaging/systemd/portway.service";

// section -> key -> values (a key may repeat, e.g. ExecStartPre=).
using UnitFile = std::map<std::string, std::multimap<std::string, std::string>>;

UnitFile parse_unit(const std::string& path) {
  std::ifstream in(path);
  UnitFile unit;
  std::string section, line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    unit[section].emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return unit;
}

std::string one(const UnitFile& unit, const std::string& section, const std::string& key) {
  const auto s = unit.find(section);
  if (s == unit.end()) return "";
  const auto [first, last] = s->second.equal_range(key);
  if (first == last || std::next(first) != last) return "<" + std::to_string(std::distance(first, last)) + " values>";
  return first->second;
}

std::set<std::string> words(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

std::set<std::string> kept_capability_names() {
  std::set<std::string> out;
  std::istringstream names(capability_names(kept_mask()));
  for (std::string name; std::getline(names, name, ',');) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    out.insert(name);
  }
  return out;
}

TEST(SystemdUnit, GrantsExactlyTheCapabilitiesTheDaemonKeeps) {
  ASSERT_TRUE(fs::exists(kUnit)) << kUnit;
  const UnitFile unit = parse_unit(kUnit);
  const std::set<std::string> kept = kept_capability_names();
  EXPECT_EQ(kept, (std::set<std::string>{"CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON"}));
  EXPECT_EQ(words(one(unit, "Service", "AmbientCapabilities")), kept);
  EXPECT_EQ(words(one(unit, "Service", "CapabilityBoundingSet")), kept);
}

TEST(SystemdUnit, HasTheHardeningAndDirectoriesTheContractNames) {
  const UnitFile unit = parse_unit(kUnit);
  EXPECT_EQ(one(unit, "Service", "Type"), "notify");
  EXPECT_EQ(one(unit, "Service", "NoNewPrivileges"), "yes");
  EXPECT_EQ(one(unit, "Service", "ProtectSystem"), "strict");
  EXPECT_EQ(one(unit, "Service", "StateDirectory"), "portway");
  EXPECT_EQ(one(unit, "Service", "RuntimeDirectory"), "portway");
  EXPECT_EQ(one(unit, "Service", "User"), "portway");
  // The store lives in the StateDirectory (the only writable place under ProtectSystem=strict).
  EXPECT_NE(one(unit, "Service", "ExecStart").find("daemon --state /var/lib/portway/"), std::string::npos);
  // These make /sys/fs/bpf and /sys/fs/cgroup read-only: pins and socket hooks would fail.
  EXPECT_EQ(one(unit, "Service", "ProtectKernelTunables"), "<0 values>");
  EXPECT_EQ(one(unit, "Service", "ProtectControlGroups"), "<0 values>");
}

// systemd-analyze verify works without a running systemd; unknown keys and bad values are
// warnings on stderr with exit 0, so any output fails the test. Every command the unit runs
// must exist: the build's portway stands in for /usr/bin/portway.
TEST(SystemdUnit, SystemdAnalyzeVerifyAcceptsIt) {
  const char* analyze = "/usr/bin/systemd-analyze";
  if (!fs::exists(analyze)) GTEST_SKIP() << "systemd-analyze is not installed (package systemd, scripts/install-deps)";
  const fs::path dir = fs::temp_directory_path() / ("portway-unit-" + std::to_string(getpid()));
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{dir};
  std::ifstream in(kUnit);
  std::stringstream text;
  text << in.rdbuf();
  std::string unit = text.str();
  const std::string shipped = "ExecStart=/usr/bin/portway ";
  const auto at = unit.find(shipped);
  ASSERT_NE(at, std::string::npos);
  unit.replace(at, shipped.size(), std::string("ExecStart=") + PORTWAY_BINARY + " ");
  std::ofstream(dir / "portway.service") << unit;

  const std::string cmd = std::string(analyze) + " verify " + (dir / "portway.service").string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace portway::daemon
