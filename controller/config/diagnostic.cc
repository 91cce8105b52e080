#include "config/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace portway::config {

std::string to_string(const Diagnostic& d) {
  std::string out = d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.col) + ": ";
  if (!d.path.empty()) out += d.path + ": ";
  out += d.message;
  return out;
}

void sort_diagnostics(std::vector<Diagnostic>& diags) {
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.col, a.path, a.message) < std::tie(b.line, b.col, b.path, b.message);
  });
  diags.erase(std::unique(diags.begin(), diags.end()), diags.end());
}

}  // namespace portway::config
