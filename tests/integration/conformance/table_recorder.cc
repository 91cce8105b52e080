#include "table_recorder.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace portway::conformance {

TableRecorder& TableRecorder::instance() {
  static TableRecorder r;
  return r;
}

void TableRecorder::begin(const std::string& dataplane) {
  if (tables_.count(dataplane)) return;
  tables_[dataplane].dataplane = dataplane;
  std::error_code ec;
  std::filesystem::remove(std::filesystem::path(PORTWAY_CONFORMANCE_DIR) / (dataplane + ".json"), ec);
}

void TableRecorder::set(const std::string& dataplane, const std::string& scenario, const std::string& field,
                        const std::string& value) {
  begin(dataplane);
  tables_[dataplane].rows[scenario][field] = value;
}

void TableRecorder::write_all(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  for (const auto& [name, table] : tables_) {
    const auto path = std::filesystem::path(dir) / (name + ".json");
    std::ofstream out(path);
    out << to_json(table).dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + path.string());
  }
}

}  // namespace portway::conformance
