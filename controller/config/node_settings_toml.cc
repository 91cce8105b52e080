#include "config/node_settings_toml.h"

#include <sstream>

#include <toml++/toml.h>

namespace portway::config {
namespace {

toml::array strings(const std::vector<std::string>& values) {
  toml::array out;
  for (const auto& v : values) out.push_back(v);
  return out;
}

}  // namespace

std::string to_toml(const NodeSettings& s) {
  toml::array reserved;
  for (const auto port : s.reserved_node_ports) reserved.push_back(static_cast<std::int64_t>(port));

  toml::table t;
  t.insert("uplinks", strings(s.uplinks));
  t.insert("node_addresses", strings(s.node_addresses));
  t.insert("sandbox_interfaces", strings(s.sandbox_interfaces));
  t.insert("service_cidr", net::to_string(s.service_cidr));
  t.insert("service_cidr6", s.service_cidr6 ? net::to_string(*s.service_cidr6) : std::string());
  t.insert("reserved_node_ports", std::move(reserved));
  t.insert("dataplane", std::string(to_string(s.dataplane)));
  t.insert("bpffs_dir", s.bpffs_dir);
  // No spelling of "the hierarchy's root" is accepted for `cgroup`: absent means it.
  if (!s.cgroup.empty()) t.insert("cgroup", s.cgroup);
  t.insert("api_socket", s.api_socket);
  t.insert("api_group", s.api_group);
  t.insert("metrics_address", s.metrics_address ? to_string(*s.metrics_address) : std::string());
  t.insert("resync_seconds", static_cast<std::int64_t>(s.resync_seconds));
  t.insert("maps", toml::table{
                       {"frontends", static_cast<std::int64_t>(s.maps.frontends)},
                       {"backends", static_cast<std::int64_t>(s.maps.backends)},
                       {"backend_sets", static_cast<std::int64_t>(s.maps.backend_sets)},
                       {"conntrack", static_cast<std::int64_t>(s.maps.conntrack)},
                       {"maglev_table_size", static_cast<std::int64_t>(s.maps.maglev_table_size)},
                       {"maglev_slots", static_cast<std::int64_t>(s.maps.maglev_slots)},
                   });

  // Every string as a basic string ("..." with escapes). The formatter's default also uses the
  // multi-line form for text with line breaks, and a string starting with a newline then loses
  // it on the way back (TOML trims a newline right after the opening """); literal strings
  // would add nothing. UTF-8 is kept as it is, readable.
  std::ostringstream out;
  out << toml::toml_formatter(t, toml::format_flags::allow_unicode_strings) << '\n';
  return out.str();
}

}  // namespace portway::config
