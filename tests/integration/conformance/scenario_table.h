// The observable outcome of each conformance scenario on one dataplane: one row per scenario,
// fields with string values ("yes", "sb1", "7000", "refused", counter deltas), written as
// `<dir>/<dataplane>.json` (table_recorder.h) and read back by the parity check. Only what a user or an operator can see goes
// in (answers, ports, sources, reject kinds, counters), never how a dataplane got there.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace portway::conformance {

using Row = std::map<std::string, std::string>;  // field -> observed value

struct Table {
  std::string dataplane;
  std::map<std::string, Row> rows;  // scenario -> row
};

nlohmann::json to_json(const Table& t);
// Throws std::runtime_error on a malformed document.
Table table_from_json(const nlohmann::json& j);

}  // namespace portway::conformance
