#include "scenario_table.h"

#include <stdexcept>

namespace portway::conformance {

nlohmann::json to_json(const Table& t) {
  nlohmann::json rows = nlohmann::json::object();
  for (const auto& [scenario, row] : t.rows) rows[scenario] = row;
  return {{"dataplane", t.dataplane}, {"rows", rows}};
}

Table table_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("dataplane") || !j.contains("rows") || !j["rows"].is_object())
    throw std::runtime_error("not a conformance table (needs \"dataplane\" and \"rows\")");
  Table t;
  t.dataplane = j["dataplane"].get<std::string>();
  for (const auto& [scenario, row] : j["rows"].items()) {
    if (!row.is_object()) throw std::runtime_error("row " + scenario + " is not an object");
    for (const auto& [field, value] : row.items()) t.rows[scenario][field] = value.get<std::string>();
  }
  return t;
}

}  // namespace portway::conformance
