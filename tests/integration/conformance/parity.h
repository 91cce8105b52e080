// The parity check (docs/dataplane.md "Parity"): the conformance tables of the two dataplanes,
// compared field by field. Every difference must be listed as an exception (scenario, field,
// reason) in one file; a missing table, a missing row, an unlisted difference or a listed
// exception that no longer matches anything is a failure.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scenario_table.h"

namespace portway::conformance {

struct ParityException {
  std::string scenario, field, reason;
};

// One exception per line: "<scenario> <field> <reason...>"; '#' starts a comment line, blank
// lines are skipped. A line without a reason is an error (every exception says why).
std::vector<ParityException> parse_exceptions(std::string_view text, std::vector<std::string>& errors);

struct ParityReport {
  std::vector<std::string> failures;  // empty = parity holds
  std::vector<std::string> allowed;   // differences covered by an exception, for the log
};

// `a` and `b` are the two tables (nullopt when a dataplane's run left none); `scenarios` is
// the list every table must contain.
ParityReport compare_tables(const std::optional<Table>& a, const std::optional<Table>& b,
                            std::span<const std::string_view> scenarios,
                            const std::vector<ParityException>& exceptions);

}  // namespace portway::conformance
