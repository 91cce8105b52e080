#include "config/name_rules.h"

namespace portway::config {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_label(std::string_view s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  for (char c : s)
    if (!is_lower_alnum(c) && c != '-') return false;
  return true;
}

}  // namespace

bool is_dns_label(std::string_view s) { return is_label(s, 63); }
bool is_port_name(std::string_view s) { return is_label(s, 15); }

}  // namespace portway::config
