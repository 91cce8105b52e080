// portway sandbox add|set|rm|list: sandbox registrations (cli.md).
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/state_db.h"
#include "model/errors.h"
#include "model/sandbox_input.h"
#include "ops/sandbox_requests.h"
#include "ops/service_view.h"

namespace portway::cli {
namespace {

constexpr const char* kStateHelp =
    "state database (default $PORTWAY_STATE, else /var/lib/portway/state.db)";

constexpr const char* kUsage =
    "usage: portway sandbox add [--state DB] --app A --service S --ip ADDR [--ip6 ADDR]\n"
    "                           [--iface IF] [--label K=V]... [--id ID]\n"
    "       portway sandbox set [--state DB] ID --state running|draining|stopped\n"
    "       portway sandbox rm [--state DB] ID\n"
    "       portway sandbox list [--state DB] [--json]\n"
    "Register the sandboxes that back Services: a Service's endpoints are the sandboxes of its\n"
    "app and service that are running (new flows) or draining (established flows only).\n"
    "Exit: 0 done, 1 rejected (invalid value, unknown or duplicate id, an address that is\n"
    "another sandbox's, a Service's or the node's own), 2 usage or environment error.\n";

const FlagSpec kAddFlags[] = {
    {"state", true, false, kStateHelp},
    {"app", true, false, "the app the sandbox runs (required)"},
    {"service", true, false, "the service of that app it runs (required)"},
    {"ip", true, false, "its IPv4 address (required)"},
    {"ip6", true, false, "its IPv6 address, for dual-stack Services"},
    {"iface", true, false, "the host-side interface it is reached through"},
    {"label", true, true, "KEY=VALUE, repeatable"},
    {"id", true, false, "its id (default: a generated sb-XXXXXXXXXXXXXXXX)"},
    {"help", false, false, "show this help"},
};

// --state appears twice in cli.md's synopsis of `set`: once for the database (before ID),
// once for the new state. Given once, it is the new state; given twice, the first is the
// database and the second the new state.
const FlagSpec kSetFlags[] = {
    {"state", true, true, "[--state DB] --state running|draining|stopped"},
    {"help", false, false, "show this help"},
};

const FlagSpec kRmFlags[] = {
    {"state", true, false, kStateHelp},
    {"help", false, false, "show this help"},
};

const FlagSpec kListFlags[] = {
    {"state", true, false, kStateHelp},
    {"json", false, false, "print {\"sandboxes\":[...]} on stdout"},
    {"help", false, false, "show this help"},
};

std::string required(const ParsedArgs& p, const char* flag) {
  auto v = p.value(flag);
  if (!v) throw UsageError(std::string("sandbox add needs --") + flag);
  return *v;
}

const std::string& single_id(const ParsedArgs& p, const char* sub) {
  if (p.positional().size() != 1) throw UsageError(std::string("sandbox ") + sub + " needs exactly one ID");
  return p.positional()[0];
}

int add(std::span<const std::string> args) {
  const ParsedArgs p = parse_args(args, kAddFlags);
  if (p.has("help")) {
    std::cout << kUsage << describe_flags(kAddFlags);
    return kExitOk;
  }
  if (!p.positional().empty()) throw UsageError("sandbox add takes no positional arguments");
  model::SandboxInput in;
  in.app = required(p, "app");
  in.service = required(p, "service");
  in.ipv4 = required(p, "ip");
  in.ipv6 = p.value("ip6");
  in.iface = p.value("iface").value_or("");
  in.labels = p.values("label");
  in.id = p.value("id");
  auto checked = model::validate_sandbox(in, now_ms());
  if (!checked.record) throw model::Rejected(std::move(checked.errors));
  std::vector<net::InterfaceAddress> node_addresses;
  try {
    node_addresses = ops::node_addresses();
  } catch (const std::exception& e) {
    throw EnvironmentError(std::string("reading the node's addresses: ") + e.what());
  }

  const auto store = open_state_for_write(p.value("state"));
  const auto added = ops::add_sandbox(*store, std::move(*checked.record), node_addresses);
  std::cout << added.id << "\n";
  return kExitOk;
}

int set(std::span<const std::string> args) {
  const ParsedArgs p = parse_args(args, kSetFlags);
  if (p.has("help")) {
    std::cout << kUsage << describe_flags(kSetFlags);
    return kExitOk;
  }
  const std::string& id = single_id(p, "set");
  const auto& states = p.values("state");
  if (states.empty()) throw UsageError("sandbox set needs --state running|draining|stopped");
  if (states.size() > 2) throw UsageError("--state given more than twice");
  const auto state = store::parse_sandbox_state(states.back());
  if (!state) {
    throw UsageError("--state \"" + states.back() +
                     "\" is not running, draining or stopped (to name the database as well, "
                     "give --state DB before --state STATE)");
  }
  const std::optional<std::string> db = states.size() == 2 ? std::optional(states[0]) : std::nullopt;

  const auto store = open_state_for_read(db);
  if (!store) throw model::Rejected("no sandbox " + model::printable_quoted(id) + " is registered");
  const ops::StateChange change = ops::set_sandbox_state(*store, id, *state, now_ms());
  if (change.changed()) {
    std::cout << "sandbox " << id << ": " << store::to_string(change.before) << " -> "
              << store::to_string(change.after) << "\n";
  } else {
    std::cout << "sandbox " << id << ": already " << store::to_string(*state) << "\n";
  }
  return kExitOk;
}

int rm(std::span<const std::string> args) {
  const ParsedArgs p = parse_args(args, kRmFlags);
  if (p.has("help")) {
    std::cout << kUsage << describe_flags(kRmFlags);
    return kExitOk;
  }
  const std::string& id = single_id(p, "rm");
  const auto store = open_state_for_read(p.value("state"));
  if (!store) throw model::Rejected("no sandbox " + model::printable_quoted(id) + " is registered");
  ops::remove_sandbox(*store, id);
  std::cout << "removed sandbox " << id << "\n";
  return kExitOk;
}

int list(std::span<const std::string> args) {
  const ParsedArgs p = parse_args(args, kListFlags);
  if (p.has("help")) {
    std::cout << kUsage << describe_flags(kListFlags);
    return kExitOk;
  }
  if (!p.positional().empty()) throw UsageError("sandbox list takes no arguments");
  std::vector<store::SandboxRecord> sandboxes;
  if (const auto store = open_state_for_read(p.value("state"))) {
    sandboxes = store->begin_read()->sandboxes();
  }
  if (p.has("json")) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& s : sandboxes) j.push_back(ops::sandbox_json(s));
    std::cout << ops::dump({{"sandboxes", std::move(j)}}) << "\n";
  } else {
    for (const auto& s : sandboxes) std::cout << ops::sandbox_text(s);
  }
  return kExitOk;
}

}  // namespace

int cmd_sandbox(std::span<const std::string> args) {
  if (args.empty()) throw UsageError("sandbox needs a subcommand: add, set, rm or list");
  const std::string& sub = args[0];
  const auto rest = args.subspan(1);
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (sub == "add") return add(rest);
  if (sub == "set") return set(rest);
  if (sub == "rm") return rm(rest);
  if (sub == "list") return list(rest);
  throw UsageError("unknown sandbox subcommand \"" + sub + "\" (add, set, rm or list)");
}

}  // namespace portway::cli
