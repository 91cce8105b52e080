#include "model/sandbox_input.h"

#include "config/name_rules.h"
#include "model/errors.h"

namespace portway::model {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_label_name(std::string_view s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  if (s.size() > 63 || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  for (;;) {
    const auto dot = s.find('.', start);
    if (!config::is_dns_label(s.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

bool is_sandbox_id(std::string_view s) {
  if (s.empty() || s.size() > 128 || !is_alnum(s.front())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '.' && c != '_' && c != ':' && c != '-') return false;
  return true;
}

bool is_iface_name(std::string_view s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  for (char c : s)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::optional<std::string> label_error(std::string_view kv) {
  const auto eq = kv.find('=');
  if (eq == std::string_view::npos) return "label " + printable_quoted(kv) + " is not KEY=VALUE";
  const std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
  std::string_view name = key;
  if (const auto slash = key.find('/'); slash != std::string_view::npos) {
    if (!is_dns_subdomain(key.substr(0, slash))) {
      return "label key " + printable_quoted(key) + ": the prefix before '/' must be a DNS subdomain";
    }
    name = key.substr(slash + 1);
  }
  if (!is_label_name(name, false)) {
    return "label key " + printable_quoted(key) +
           ": the name must be 1-63 letters, digits, '.', '_' or '-', starting and ending "
           "with a letter or digit";
  }
  if (!is_label_name(value, true)) {
    return "label value " + printable_quoted(value) +
           ": must be empty or 1-63 letters, digits, '.', '_' or '-', starting and ending with "
           "a letter or digit";
  }
  return std::nullopt;
}

std::optional<std::string> ipv4_sandbox_error(std::string_view text) {
  // The parser stops at a NUL; an embedded one must not make "1.2.3.4\0junk" valid.
  const auto a = text.find('\0') == std::string_view::npos ? net::parse_ipv4(text) : std::nullopt;
  if (!a) return "--ip " + printable_quoted(text) + " is not an IPv4 address";
  const std::uint32_t v = a->value, top = v >> 24;
  if (top == 0) return "--ip " + printable_quoted(text) + " is in 0.0.0.0/8 (\"this network\"), not a host";
  if (top == 127) return "--ip " + printable_quoted(text) + " is a loopback address";
  if (top >= 224 && top < 240) return "--ip " + printable_quoted(text) + " is a multicast address";
  if (top >= 240) return "--ip " + printable_quoted(text) + " is a reserved or broadcast address";
  return std::nullopt;
}

std::optional<std::string> ipv6_sandbox_error(std::string_view text) {
  const auto a = text.find('\0') == std::string_view::npos ? net::parse_ipv6(text) : std::nullopt;
  if (!a) return "--ip6 " + printable_quoted(text) + " is not an IPv6 address";
  const net::Ipv6 unspecified{}, loopback{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  if (*a == unspecified) return "--ip6 " + printable_quoted(text) + " is the unspecified address";
  if (*a == loopback) return "--ip6 " + printable_quoted(text) + " is the loopback address";
  if (a->bytes[0] == 0xFF) return "--ip6 " + printable_quoted(text) + " is a multicast address";
  return std::nullopt;
}

SandboxValidation validate_sandbox(const SandboxInput& in, std::int64_t now_ms) {
  SandboxValidation v;
  auto& errors = v.errors;
  if (in.id && !is_sandbox_id(*in.id)) {
    errors.push_back("--id " + printable_quoted(*in.id) + ": a sandbox id is " + std::string(kSandboxIdRule));
  }
  if (!config::is_dns_label(in.app)) {
    errors.push_back("--app " + printable_quoted(in.app) + ": an app name is " + std::string(config::kDnsLabelRule));
  }
  if (!config::is_dns_label(in.service)) {
    errors.push_back("--service " + printable_quoted(in.service) + ": a service name is " +
                     std::string(config::kDnsLabelRule));
  }
  if (!in.ipv4 && !in.ipv6) {
    errors.push_back("a sandbox needs an address: give --ip (IPv4), --ip6 (IPv6) or both");
  }
  if (in.ipv4) {
    if (auto e = ipv4_sandbox_error(*in.ipv4)) errors.push_back(*e);
  }
  if (in.ipv6) {
    if (auto e = ipv6_sandbox_error(*in.ipv6)) errors.push_back(*e);
  }
  if (!in.iface.empty() && !is_iface_name(in.iface)) {
    errors.push_back("--iface " + printable_quoted(in.iface) + ": an interface name is " + std::string(kIfaceRule));
  }
  store::Labels labels;
  for (const std::string& kv : in.labels) {
    if (auto e = label_error(kv)) {
      errors.push_back(*e);
      continue;
    }
    const auto eq = kv.find('=');
    std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    // app and service are what the Service selector matches; a label must not pretend
    // otherwise, so they are set from --app/--service only.
    if (key == "app" || key == "service") {
      errors.push_back("label " + printable_quoted(key) + " is set from --" + key + ", not --label");
    } else if (!labels.emplace(std::move(key), std::move(value)).second) {
      errors.push_back("label " + printable_quoted(kv.substr(0, eq)) + " is given twice");
    }
  }
  if (!errors.empty()) return v;

  store::SandboxRecord r;
  r.id = in.id.value_or("");
  r.app = in.app;
  r.service = in.service;
  labels.emplace("app", in.app);
  labels.emplace("service", in.service);
  r.labels = std::move(labels);
  if (in.ipv4) r.ipv4 = *net::parse_ipv4(*in.ipv4);
  if (in.ipv6) r.ipv6 = *net::parse_ipv6(*in.ipv6);
  r.iface = in.iface;
  r.state = store::SandboxState::running;
  r.changed_at_ms = now_ms;
  v.record = std::move(r);
  return v;
}

}  // namespace portway::model
