// portway sandbox add|set|rm|list: sandbox registrations (docs/cli.md).
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/state_db.h"
#include "model/errors.h"
#include "model/sandbox_input.h"
#include "ops/sandbox_requests.h"
#include "ops/service_view.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway sandbox add|set|rm|list [flags]\n"
    "Register the sandboxes that back Services: a Service's endpoints are the sandboxes of its\n"
    "app and service that are running (new flows) or draining (established flows only).\n"
    "Exit: 0 done, 1 rejected (invalid value, unknown or duplicate id, an address that is\n"
    "another sandbox's, a Service's or the node's own), 2 usage or environment error.\n";

constexpr const char* kAddUsage =
    "usage: portway sandbox add [--state DB] --app A --service S [--ip ADDR] [--ip6 ADDR]\n"
    "                           [--iface IF] [--label K=V]... [--id ID]\n"
    "Register a sandbox (state running) and print its id. It needs --ip, --ip6 or both: a\n"
    "Service's IPv4 frontends use the sandboxes with --ip, its IPv6 frontends those with --ip6.\n"
    "Exit: 0 added, 1 rejected (invalid value, duplicate id, an address that is another\n"
    "sandbox's, a Service's or the node's own), 2 usage or environment error.\n";

constexpr const char* kSetUsage =
    "usage: portway sandbox set [--state DB] ID --to running|draining|stopped\n"
    "Change a sandbox's state: draining keeps its established flows and takes no new ones,\n"
    "stopped takes none. --state is the state database, as everywhere.\n"
    "Exit: 0 changed (or already in that state), 1 no such sandbox, 2 usage or environment error.\n";

constexpr const char* kRmUsage =
    "usage: portway sandbox rm [--state DB] ID\n"
    "Remove a sandbox's registration.\n"
    "Exit: 0 removed, 1 no such sandbox, 2 usage or environment error.\n";

constexpr const char* kListUsage =
    "usage: portway sandbox list [--state DB] [--json]\n"
    "List the registered sandboxes with their state, addresses, interface and labels.\n"
    "Exit: 0, or 2 on a usage or environment error.\n";

struct AddFlags {
  std::optional<std::string> state, ip, ip6, iface, id;
  std::string app, service;
  std::vector<std::string> labels;
};

struct SetFlags {
  std::vector<std::string> states;  // --state DB: more than one is the old spelling, refused
  std::optional<std::string> to;
  std::string id;
};

constexpr const char* kSetPath = "portway sandbox set";

struct IdFlags {
  std::optional<std::string> state;
  std::string id;
  bool json = false;
};

int add(const AddFlags& f) {
  model::SandboxInput in;
  in.app = f.app;
  in.service = f.service;
  in.ipv4 = f.ip;
  in.ipv6 = f.ip6;
  in.iface = f.iface.value_or("");
  in.labels = f.labels;
  in.id = f.id;
  auto checked = model::validate_sandbox(in, now_ms());
  if (!checked.record) throw model::Rejected(std::move(checked.errors));
  std::vector<net::InterfaceAddress> node_addresses;
  try {
    node_addresses = ops::node_addresses();
  } catch (const std::exception& e) {
    throw EnvironmentError(std::string("reading the node's addresses: ") + e.what());
  }

  const auto store = open_state_for_write(f.state);
  const auto added = ops::add_sandbox(*store, std::move(*checked.record), node_addresses);
  std::cout << added.id << "\n";
  return kExitOk;
}

// `--state` names the state database in every command (docs/cli.md "sandbox set"). Scripts
// written for the older `set ID --state STATE` (and `--state DB ID --state STATE`) would
// otherwise open or create a database named "draining" and report success: a --state that
// is a sandbox state, or two of them, is refused, naming --to.
std::optional<std::string> state_database(const SetFlags& f) {
  if (f.states.empty()) return std::nullopt;
  const std::string& last = f.states.back();
  if (f.states.size() > 1 || store::parse_sandbox_state(last)) {
    throw UsageError("--state names the state database, not the sandbox's state: give the new state with --to "
                     "(portway sandbox set " + (f.states.size() > 1 ? "--state " + f.states.front() + " " : "") +
                     f.id + " --to " + last + "); a database file named \"" + last + "\" is --state ./" + last,
                     kSetPath);
  }
  return last;
}

int set(const SetFlags& f) {
  const std::optional<std::string> db = state_database(f);
  if (!f.to) throw UsageError("sandbox set needs --to running|draining|stopped", kSetPath);
  const auto state = store::parse_sandbox_state(*f.to);
  if (!state) throw UsageError("--to \"" + *f.to + "\" is not running, draining or stopped", kSetPath);

  const auto store = open_state_for_read(db);
  if (!store) throw model::Rejected("no sandbox " + model::printable_quoted(f.id) + " is registered");
  const ops::StateChange change = ops::set_sandbox_state(*store, f.id, *state, now_ms());
  if (change.changed()) {
    std::cout << "sandbox " << f.id << ": " << store::to_string(change.before) << " -> "
              << store::to_string(change.after) << "\n";
  } else {
    std::cout << "sandbox " << f.id << ": already " << store::to_string(*state) << "\n";
  }
  return kExitOk;
}

int rm(const IdFlags& f) {
  const auto store = open_state_for_read(f.state);
  if (!store) throw model::Rejected("no sandbox " + model::printable_quoted(f.id) + " is registered");
  ops::remove_sandbox(*store, f.id);
  std::cout << "removed sandbox " << f.id << "\n";
  return kExitOk;
}

int list(const IdFlags& f) {
  std::vector<store::SandboxRecord> sandboxes;
  if (const auto store = open_state_for_read(f.state)) {
    sandboxes = store->begin_read()->sandboxes();
  }
  if (f.json) {
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
  CommandLine cmdline("portway sandbox", kUsage);
  cmdline.app().require_subcommand(1);

  AddFlags a;
  CLI::App& add_cmd = cmdline.add_subcommand("add", "register a sandbox (state running) and print its id", kAddUsage);
  CommandLine::add_state(add_cmd, a.state);
  add_cmd.add_option("--app", a.app, "the app the sandbox runs")->required()->type_name("A");
  add_cmd.add_option("--service", a.service, "the service of that app it runs")->required()->type_name("S");
  add_cmd.add_option("--ip", a.ip, "its IPv4 address (--ip, --ip6 or both)")->type_name("ADDR");
  add_cmd.add_option("--ip6", a.ip6, "its IPv6 address (--ip, --ip6 or both)")->type_name("ADDR");
  add_cmd.add_option("--iface", a.iface, "the host-side interface it is reached through")->type_name("IF");
  add_cmd.add_option("--label", a.labels, "KEY=VALUE, repeatable")->type_name("K=V")->allow_extra_args(false);
  add_cmd.add_option("--id", a.id, "its id (default: a generated sb-XXXXXXXXXXXXXXXX)")->type_name("ID");

  SetFlags s;
  CLI::App& set_cmd = cmdline.add_subcommand("set", "change a sandbox's state", kSetUsage);
  set_cmd.add_option("--state", s.states, CommandLine::kStateHelp)->type_name("DB")->allow_extra_args(false);
  set_cmd.add_option("ID", s.id, "the sandbox's id")->required();
  set_cmd.add_option("--to", s.to, "the new state: running, draining or stopped")->type_name("STATE");

  IdFlags r;
  CLI::App& rm_cmd = cmdline.add_subcommand("rm", "remove a sandbox", kRmUsage);
  CommandLine::add_state(rm_cmd, r.state);
  rm_cmd.add_option("ID", r.id, "the sandbox's id")->required();

  IdFlags l;
  CLI::App& list_cmd = cmdline.add_subcommand("list", "list the registered sandboxes", kListUsage);
  CommandLine::add_state(list_cmd, l.state);
  CommandLine::add_json(list_cmd, l.json, "{\"sandboxes\":[...]}");

  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  if (add_cmd.parsed()) return add(a);
  if (set_cmd.parsed()) return set(s);
  if (rm_cmd.parsed()) return rm(r);
  return list(l);
}

}  // namespace portway::cli
