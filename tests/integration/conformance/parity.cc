#include "parity.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace portway::conformance {
namespace {

std::string show(const Row& row, const std::string& field) {
  const auto it = row.find(field);
  return it == row.end() ? "(absent)" : "\"" + it->second + "\"";
}

}  // namespace

std::vector<ParityException> parse_exceptions(std::string_view text, std::vector<std::string>& errors) {
  std::vector<ParityException> out;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream fields(line);
    ParityException e;
    fields >> e.scenario >> e.field;
    std::getline(fields >> std::ws, e.reason);
    if (e.field.empty() || e.reason.empty())
      errors.push_back("exceptions line " + std::to_string(n) + ": needs <scenario> <field> <reason>");
    else
      out.push_back(std::move(e));
  }
  return out;
}

ParityReport compare_tables(const std::optional<Table>& a, const std::optional<Table>& b,
                            std::span<const std::string_view> scenarios,
                            const std::vector<ParityException>& exceptions) {
  ParityReport r;
  if (!a || !b) {
    if (!a) r.failures.push_back("the first dataplane's table is missing (its run failed or did not run)");
    if (!b) r.failures.push_back("the second dataplane's table is missing (its run failed or did not run)");
    return r;
  }
  std::set<std::pair<std::string, std::string>> used;
  const auto listed = [&](const std::string& scenario, const std::string& field) {
    for (const auto& e : exceptions)
      if (e.scenario == scenario && e.field == field) {
        used.insert({scenario, field});
        return true;
      }
    return false;
  };
  std::set<std::string> expected(scenarios.begin(), scenarios.end());
  for (const auto* t : {&*a, &*b}) {
    for (const auto& s : expected)
      if (!t->rows.count(s) || t->rows.at(s).empty())
        r.failures.push_back(s + ": no row in the " + t->dataplane + " table (scenario did not run)");
    for (const auto& [s, row] : t->rows)
      if (!expected.count(s)) r.failures.push_back(s + ": unknown scenario in the " + t->dataplane + " table");
  }
  for (const auto& s : expected) {
    const auto ia = a->rows.find(s), ib = b->rows.find(s);
    if (ia == a->rows.end() || ib == b->rows.end()) continue;
    std::set<std::string> fields;
    for (const auto& [f, v] : ia->second) fields.insert(f);
    for (const auto& [f, v] : ib->second) fields.insert(f);
    for (const auto& f : fields) {
      const std::string va = show(ia->second, f), vb = show(ib->second, f);
      if (va == vb) continue;
      const std::string what = s + " " + f + ": " + a->dataplane + "=" + va + " " + b->dataplane + "=" + vb;
      (listed(s, f) ? r.allowed : r.failures).push_back(what);
    }
  }
  for (const auto& e : exceptions)
    if (!used.count({e.scenario, e.field}))
      r.failures.push_back(e.scenario + " " + e.field + ": listed exception matches no difference (remove it)");
  return r;
}

}  // namespace portway::conformance
