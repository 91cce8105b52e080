#include "agent/reserved_ports.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "netlink/links.h"

namespace portway::agent {
namespace {

constexpr const char* kSysctl = "net.ipv4.ip_local_reserved_ports";

std::uint16_t parse_port(std::string_view s, std::string_view whole) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || value > 65535)
    throw std::invalid_argument("not a port list: \"" + std::string(whole) + "\"");
  return static_cast<std::uint16_t>(value);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

}  // namespace

PortSet parse_port_ranges(std::string_view text) {
  PortSet out;
  std::string_view rest = trim(text);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) throw std::invalid_argument("not a port list: \"" + std::string(text) + "\"");
    const auto dash = item.find('-');
    const std::uint16_t lo = parse_port(trim(item.substr(0, dash)), text);
    const std::uint16_t hi = dash == std::string_view::npos ? lo : parse_port(trim(item.substr(dash + 1)), text);
    if (hi < lo) throw std::invalid_argument("not a port list: \"" + std::string(text) + "\"");
    for (unsigned p = lo; p <= hi; ++p) out.insert(static_cast<std::uint16_t>(p));
  }
  return out;
}

std::string format_port_ranges(const PortSet& ports) {
  std::string out;
  for (auto it = ports.begin(); it != ports.end();) {
    const std::uint16_t lo = *it;
    std::uint16_t hi = lo;
    for (++it; it != ports.end() && *it == hi + 1; ++it) hi = *it;
    if (!out.empty()) out += ',';
    out += std::to_string(lo);
    if (hi != lo) out += "-" + std::to_string(hi);
  }
  return out;
}

ReservedPortsPlan plan_reserved_ports(const PortSet& current, const PortSet& previously_ours,
                                      const PortSet& wanted) {
  ReservedPortsPlan plan;
  // Someone else's: reserved now, and not by us.
  PortSet theirs;
  std::set_difference(current.begin(), current.end(), previously_ours.begin(), previously_ours.end(),
                      std::inserter(theirs, theirs.end()));
  std::set_union(theirs.begin(), theirs.end(), wanted.begin(), wanted.end(),
                 std::inserter(plan.value, plan.value.end()));
  std::set_difference(wanted.begin(), wanted.end(), theirs.begin(), theirs.end(),
                      std::inserter(plan.ours, plan.ours.end()));
  return plan;
}

PortSet node_ports_of(const state::DataplaneState& s) {
  PortSet out;
  for (const auto& n : s.node_ports()) out.insert(n.key.node_port);
  return out;
}

std::string reserved_ports_record_path(const std::string& state_path) {
  return (std::filesystem::path(state_path).parent_path() / "reserved-ports").string();
}

void reserve_node_ports(const state::DataplaneState& desired, const std::string& record_path) {
  PortSet previously_ours;
  if (std::ifstream in(record_path); in) {
    std::stringstream text;
    text << in.rdbuf();
    previously_ours = parse_port_ranges(text.str());
  }
  const PortSet current = parse_port_ranges(netlink::read_sysctl(kSysctl));
  const ReservedPortsPlan plan = plan_reserved_ports(current, previously_ours, node_ports_of(desired));
  // The kernel rejects an empty write; "" is written as a lone newline.
  if (plan.value != current) netlink::write_sysctl(kSysctl, format_port_ranges(plan.value) + "\n");
  const std::string tmp = record_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << format_port_ranges(plan.ours) << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  chmod(tmp.c_str(), 0600);
  std::filesystem::rename(tmp, record_path);
}

}  // namespace portway::agent
