#include "config/node_settings.h"

#include <fnmatch.h>
#include <net/if.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <functional>

#include "config/key_schema.h"
#include "config/text_input.h"
#include "config/toml_access.h"

namespace portway::config {

std::string_view to_string(DataplaneChoice d) {
  switch (d) {
    case DataplaneChoice::automatic: return "auto";
    case DataplaneChoice::xdp: return "xdp";
    case DataplaneChoice::nft: return "nft";
  }
  return "?";
}

std::optional<DataplaneChoice> parse_dataplane_choice(std::string_view s) {
  if (s == "auto") return DataplaneChoice::automatic;
  if (s == "xdp") return DataplaneChoice::xdp;
  if (s == "nft") return DataplaneChoice::nft;
  return std::nullopt;
}

std::string to_string(const ListenAddress& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* why) {
  const auto fail = [&](std::string reason) -> std::optional<ListenAddress> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("missing :PORT");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) {
    host = host.substr(1, host.size() - 2);
    if (!net::parse_ipv6(host)) return fail(quoted(host) + " is not an IPv6 address");
  } else if (!net::parse_ipv4(host)) {
    return fail(quoted(host) + " is not an IPv4 address (write IPv6 as [ADDR]:PORT; names are not looked up)");
  }
  unsigned port = 0;
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string_view::npos)
    return fail("port " + quoted(port_text) + " is not a number");
  for (char c : port_text) port = port * 10 + static_cast<unsigned>(c - '0');
  if (port < 1 || port > 65535) return fail("port " + std::to_string(port) + " is not between 1 and 65535");
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(port)};
}

namespace {

// A group name as useradd/groupadd accept it (the portable set; no leading '-', so it can
// never read as an option), resolved when the daemon starts.
bool is_group_name(std::string_view s) {
  if (s.empty() || s.size() > 32 || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// Why `text` cannot be an address the node answers node ports on, or nullopt: the wildcard,
// loopback, multicast and broadcast addresses are no single interface's address, and a
// frontend on one of them would capture traffic meant for the node itself or for nobody.
std::optional<std::string> node_address_error(std::string_view text) {
  if (auto v4 = net::parse_ipv4(text)) {
    const std::uint32_t a = v4->value;
    if (a >> 24 == 0) return "is in 0.0.0.0/8 (\"this network\", not an interface address)";
    if (a >> 24 == 127) return "is a loopback address";
    if (a >> 28 == 0xE) return "is a multicast address";
    if (a == 0xFFFFFFFF) return "is the broadcast address";
    return std::nullopt;
  }
  if (auto v6 = net::parse_ipv6(text)) {
    const bool zero_prefix = std::all_of(v6->bytes.begin(), v6->bytes.end() - 1,
                                         [](std::uint8_t b) { return b == 0; });
    if (zero_prefix && v6->bytes[15] == 0) return "is the unspecified address";
    if (zero_prefix && v6->bytes[15] == 1) return "is the loopback address";
    if (v6->bytes[0] == 0xFF) return "is a multicast address";
    return std::nullopt;
  }
  return "is not an IP address";
}

bool is_prime(std::uint32_t n) {
  if (n < 2) return false;
  for (std::uint32_t d = 2; std::uint64_t{d} * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

class SettingsParser {
 public:
  explicit SettingsParser(const std::string& file) : file_(file) {}

  NodeSettingsOutcome run(std::string_view text) {
    NodeSettingsOutcome out;
    auto parsed = parse_toml_text(text, file_, out.errors);
    if (!parsed) return out;
    const toml::table& root = *parsed;
    NodeSettings s;
    read_root(root, s);
    check_sandbox_globs(s);
    sort_diagnostics(errors_);
    out.errors = std::move(errors_);
    if (out.errors.empty()) out.settings = std::move(s);
    return out;
  }

 private:
  using Reader = std::function<void(const toml::node&, const std::string&)>;
  struct Field {
    std::string_view key;
    Reader read;
  };

  void error(const toml::node& at, const std::string& path, std::string message) {
    const Position p = position_of(at);
    errors_.push_back({file_, p.line, p.col, path, std::move(message)});
  }

  void read_table(const toml::table& table, std::string_view parent,
                  const std::vector<Field>& fields) {
    for (const auto& entry : entries_in_file_order(table)) {
      const toml::key* key = entry.first;
      const toml::node* node = entry.second;
      const std::string path = join_path(parent, key->str());
      auto field = std::find_if(fields.begin(), fields.end(),
                                [&](const Field& f) { return f.key == key->str(); });
      if (field != fields.end()) {
        field->read(*node, path);
        continue;
      }
      std::string msg = "unknown key " + quoted(key->str());
      std::optional<std::string_view> best;
      std::size_t best_d = 4;
      for (const Field& f : fields) {
        const std::size_t d = edit_distance(key->str().substr(0, 64), f.key);
        if (d < best_d) best = f.key, best_d = d;
      }
      if (best) msg += "; did you mean " + quoted(*best) + "?";
      const Position p = position_of(*key);
      errors_.push_back({file_, p.line, p.col, path, std::move(msg)});
    }
  }

  std::optional<std::string> string_of(const toml::node& n, const std::string& path) {
    if (const auto* s = n.as_string()) return s->get();
    error(n, path, "must be a string (got " + std::string(type_phrase(n)) + ")");
    return std::nullopt;
  }

  std::optional<std::vector<std::string>> strings_of(const toml::node& n, const std::string& path) {
    const auto* arr = n.as_array();
    if (!arr) {
      error(n, path, "must be an array of strings (got " + std::string(type_phrase(n)) + ")");
      return std::nullopt;
    }
    std::vector<std::string> out;
    std::size_t i = 0;
    for (const toml::node& item : *arr) {
      auto s = string_of(item, path + "[" + std::to_string(i++) + "]");
      if (!s) return std::nullopt;
      out.push_back(*s);
    }
    return out;
  }

  bool read_interfaces(const toml::node& n, const std::string& path,
                       std::vector<std::string>& into) {
    auto names = strings_of(n, path);
    if (!names) return false;
    for (const std::string& name : *names) {
      // IFNAMSIZ includes the NUL; '/' and whitespace are never valid in a link name.
      if (name.empty() || name.size() >= IFNAMSIZ ||
          name.find_first_of("/ \t\n:") != std::string::npos) {
        error(n, path, "invalid interface name " + quoted(name) + " (1-15 characters, no '/', ':' or spaces)");
        return false;
      }
    }
    into = std::move(*names);
    return true;
  }

  void read_root(const toml::table& root, NodeSettings& s) {
    read_table(root, "", {
      {"uplinks", [&](const toml::node& n, const std::string& p) {
         read_interfaces(n, p, s.uplinks);
         // No uplink: the fast path attaches nowhere and node ports answer on no address,
         // while sync would report success.
         if (const auto* arr = n.as_array(); arr && arr->empty())
           error(n, p, "must name at least one interface (the node's uplinks, e.g. [\"eth0\"])");
       }},
      {"sandbox_interfaces", [&](const toml::node& n, const std::string& p) {
         if (read_interfaces(n, p, s.sandbox_interfaces)) sandbox_interfaces_at_ = n.as_array();
       }},
      {"node_addresses", [&](const toml::node& n, const std::string& p) {
         const auto* arr = n.as_array();
         auto addrs = strings_of(n, p);
         if (!addrs) return;
         bool ok = true;
         for (std::size_t i = 0; i < addrs->size(); ++i) {
           if (auto why = node_address_error((*addrs)[i])) {
             error((*arr)[i], p, quoted((*addrs)[i]) + " " + *why + "; node_addresses lists the "
                   "node's own unicast addresses");
             ok = false;
           }
         }
         if (ok) s.node_addresses = std::move(*addrs);
       }},
      {"service_cidr", [&](const toml::node& n, const std::string& p) {
         auto text = string_of(n, p);
         if (!text) return;
         std::string why;
         auto prefix = net::parse_ipv4_prefix(*text, &why);
         if (!prefix) return error(n, p, "invalid IPv4 CIDR " + quoted(*text) + ": " + why);
         // Network and broadcast are never handed out, so /31 and /32 hold no service.
         if (prefix->length > 30) return error(n, p, "service_cidr must be /30 or larger to hold any service address");
         s.service_cidr = *prefix;
       }},
      {"service_cidr6", [&](const toml::node& n, const std::string& p) {
         auto text = string_of(n, p);
         if (!text) return;
         if (text->empty()) return s.service_cidr6.reset();
         std::string why;
         auto prefix = net::parse_ipv6_prefix(*text, &why);
         if (!prefix) return error(n, p, "invalid IPv6 prefix " + quoted(*text) + ": " + why);
         if (prefix->length > 126) return error(n, p, "service_cidr6 must be /126 or larger");
         s.service_cidr6 = *prefix;
       }},
      {"reserved_node_ports", [&](const toml::node& n, const std::string& p) {
         const auto* arr = n.as_array();
         if (!arr) return error(n, p, "must be an array of port numbers");
         std::vector<std::uint16_t> ports;
         for (const toml::node& item : *arr) {
           const auto* v = item.as_integer();
           if (!v || v->get() < 1 || v->get() > 65535) return error(item, p, "each reserved port must be an integer between 1 and 65535");
           ports.push_back(static_cast<std::uint16_t>(v->get()));
         }
         std::sort(ports.begin(), ports.end());
         ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
         s.reserved_node_ports = std::move(ports);
       }},
      {"dataplane", [&](const toml::node& n, const std::string& p) {
         auto text = string_of(n, p);
         if (!text) return;
         auto choice = parse_dataplane_choice(*text);
         if (!choice) return error(n, p, "dataplane must be \"auto\", \"xdp\" or \"nft\" (got " + quoted(*text) + ")");
         s.dataplane = *choice;
       }},
      {"bpffs_dir", [&](const toml::node& n, const std::string& p) {
         auto text = string_of(n, p);
         if (!text) return;
         // Pins outside bpffs fail at runtime with a confusing EPERM; say it here instead.
         if (!text->starts_with("/sys/fs/bpf/") || text->find("..") != std::string::npos || text->size() > 200)
           return error(n, p, "bpffs_dir must be a directory under /sys/fs/bpf/ (got " + quoted(*text) + ")");
         s.bpffs_dir = *text;
       }},
      {"cgroup", [&](const toml::node& n, const std::string& p) {
         auto text = string_of(n, p);
         if (!text) return;
         if (!text->starts_with("/") || text->find("..") != std::string::npos || text->size() > 200)
           return error(n, p, "cgroup must be an absolute path to a cgroup v2 directory (got " + quoted(*text) + ")");
         s.cgroup = *text;
       }},
      {"maps", [&](const toml::node& n, const std::string& p) { read_maps(n, p, s.maps); }},
      {"api_socket", [&](const toml::node& n, const std::string& p) {
         auto text = string_of(n, p);
         if (!text) return;
         // sun_path holds the path with its terminating NUL.
         if (!text->empty() && (!text->starts_with("/") || text->find("..") != std::string::npos ||
                                text->size() >= sizeof(sockaddr_un::sun_path)))
           return error(n, p, "api_socket must be an absolute path without \"..\", at most " +
                                  std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                  " characters, or \"\" for no API (got " + quoted(*text) + ")");
         s.api_socket = *text;
       }},
      {"api_group", [&](const toml::node& n, const std::string& p) {
         auto text = string_of(n, p);
         if (!text) return;
         if (!text->empty() && !is_group_name(*text))
           return error(n, p, "api_group must be a group name (letters, digits, '_', '-', '.'; 1-32 "
                              "characters, not starting with '-') or \"\" for root only (got " + quoted(*text) + ")");
         s.api_group = *text;
       }},
      {"metrics_address", [&](const toml::node& n, const std::string& p) {
         auto text = string_of(n, p);
         if (!text) return;
         if (text->empty()) return s.metrics_address.reset();
         std::string why;
         auto address = parse_listen_address(*text, &why);
         if (!address)
           return error(n, p, "metrics_address must be \"IPV4:PORT\", \"[IPV6]:PORT\" or \"\" for none (got " +
                                  quoted(*text) + ": " + why + ")");
         s.metrics_address = *address;
       }},
      {"resync_seconds", [&](const toml::node& n, const std::string& p) {
         const auto* i = n.as_integer();
         if (!i || i->get() < 1 || i->get() > 86400)
           return error(n, p, "resync_seconds must be an integer between 1 and 86400");
         s.resync_seconds = static_cast<std::uint32_t>(i->get());
       }},
    });
  }

  // A sandbox glob that matches an uplink or the loopback interface would put the sandbox tc
  // program on them: every packet the node receives or sends to itself would be taken for a
  // sandbox's. Each glob is tried against "lo" and each uplink.
  void check_sandbox_globs(const NodeSettings& s) {
    if (!sandbox_interfaces_at_) return;
    std::vector<std::string> reserved{"lo"};
    reserved.insert(reserved.end(), s.uplinks.begin(), s.uplinks.end());
    const toml::array& arr = *sandbox_interfaces_at_;
    for (std::size_t i = 0; i < s.sandbox_interfaces.size() && i < arr.size(); ++i) {
      const std::string& glob = s.sandbox_interfaces[i];
      for (const std::string& name : reserved) {
        if (fnmatch(glob.c_str(), name.c_str(), 0) != 0) continue;
        error(arr[i], "sandbox_interfaces",
              quoted(glob) + " matches " + (name == "lo" ? "the loopback interface \"lo\""
                                                          : "the uplink " + quoted(name)) +
                  "; name only the sandboxes' host-side interfaces (e.g. \"veth*\")");
        break;
      }
    }
  }

  void read_maps(const toml::node& n, const std::string& path, MapCapacities& m) {
    const auto* table = n.as_table();
    if (!table) return error(n, path, "must be a table");
    auto capacity = [&](std::uint32_t& into, std::uint32_t min, std::uint32_t max) {
      return [&into, min, max, this](const toml::node& v, const std::string& p) {
        const auto* i = v.as_integer();
        if (!i || i->get() < min || i->get() > max)
          return error(v, p, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
        into = static_cast<std::uint32_t>(i->get());
      };
    };
    read_table(*table, path, {
      {"frontends", capacity(m.frontends, 16, 1u << 24)},
      {"backends", capacity(m.backends, 16, 1u << 24)},
      {"backend_sets", capacity(m.backend_sets, 16, 1u << 20)},
      {"maglev_slots", capacity(m.maglev_slots, 1024, 1u << 31)},
      {"conntrack", capacity(m.conntrack, 1024, 1u << 26)},
      {"maglev_table_size", [&](const toml::node& v, const std::string& p) {
         const auto* i = v.as_integer();
         // Maglev's permutation needs a prime M to visit every slot.
         if (!i || i->get() < 251 || i->get() > 1048573 || !is_prime(static_cast<std::uint32_t>(i->get())))
           return error(v, p, "must be a prime between 251 and 1048573 (Maglev needs a prime table size)");
         m.maglev_table_size = static_cast<std::uint32_t>(i->get());
       }},
    });
  }

  const std::string& file_;
  std::vector<Diagnostic> errors_;
  const toml::array* sandbox_interfaces_at_ = nullptr;  // when read without error
};

}  // namespace

NodeSettingsOutcome parse_node_settings(std::string_view text, const std::string& file) {
  return SettingsParser(file).run(text);
}

}  // namespace portway::config
