// conformance_parity DIR EXCEPTIONS_FILE: compares DIR/xdp-ipv4.json with DIR/nft-ipv4.json and
// DIR/xdp-ipv6.json with DIR/nft-ipv6.json (parity.h).
// Exit 0 when parity holds, 1 otherwise; every difference is printed by scenario and field.
// Without root (and CI not "true") the conformance runs skip and leave no table: exit 77,
// which ctest reports as skipped, like the runs themselves (docs/testing.md: root tiers skip with a
// reason, but never under CI=true).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "parity.h"
#include "scenario_names.h"

namespace {

using portway::conformance::Table;

std::optional<Table> load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cout << "missing table: " << path << "\n";
    return std::nullopt;
  }
  try {
    return portway::conformance::table_from_json(nlohmann::json::parse(in));
  } catch (const std::exception& e) {
    std::cout << "unreadable table " << path << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: conformance_parity DIR EXCEPTIONS_FILE\n";
    return 2;
  }
  const char* ci = std::getenv("CI");
  if (geteuid() != 0 && !(ci && std::string(ci) == "true")) {
    std::cout << "skipped: the conformance runs need root, so there are no tables to compare\n";
    return 77;
  }
  const std::string dir = argv[1];
  std::ifstream ex(argv[2]);
  if (!ex) {
    std::cout << "cannot read " << argv[2] << "\n";
    return 1;
  }
  std::stringstream text;
  text << ex.rdbuf();
  std::vector<std::string> errors;
  const auto exceptions = portway::conformance::parse_exceptions(text.str(), errors);
  // Four tables, two pairs: each family's xdp table against its nft table, with the same list
  // of exceptions.
  bool ok = errors.empty();
  for (const auto& e : errors) std::cout << "FAIL " << e << "\n";
  std::size_t allowed = 0;
  for (const std::string family : {"ipv4", "ipv6"}) {
    const auto xdp = load(dir + "/xdp-" + family + ".json");
    const auto nft = load(dir + "/nft-" + family + ".json");
    const auto report =
        portway::conformance::compare_tables(xdp, nft, portway::conformance::kScenarios, exceptions);
    for (const auto& a : report.allowed) std::cout << family << ": allowed (listed): " << a << "\n";
    for (const auto& f : report.failures) std::cout << family << ": FAIL " << f << "\n";
    allowed += report.allowed.size();
    ok = ok && report.failures.empty();
  }
  std::cout << (ok ? "parity holds" : "parity FAILED") << " (" << allowed << " listed differences)\n";
  return ok ? 0 : 1;
}
