// Collects the conformance rows of one test process and writes each dataplane's table.
#pragma once

#include <string>

#include "scenario_table.h"

namespace portway::conformance {

// Collects the rows of one test process, per dataplane, and writes each dataplane's table.
class TableRecorder {
 public:
  static TableRecorder& instance();
  // Sets one field; the row exists from its first field on, so a scenario that fails half way
  // still shows what it saw (and the parity check compares that).
  void set(const std::string& dataplane, const std::string& scenario, const std::string& field,
           const std::string& value);
  // Removes `<dir>/<dataplane>.json` once per process before the first row of that
  // dataplane, so a parity check can never read a stale table from an earlier run.
  void begin(const std::string& dataplane);
  // Writes every dataplane's table into `dir` (created if missing).
  void write_all(const std::string& dir) const;

 private:
  std::map<std::string, Table> tables_;
};

}  // namespace portway::conformance
