// portway lab up|down|run
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "lab/lab.h"

namespace portway::cli {
namespace {

const FlagSpec kFlags[] = {
    {"prefix", true, false, "name prefix of the lab's namespaces (default pwlab)"},
    {"dir", true, false, "the lab's directory (default /run/portway-lab)"},
    {"examples", true, false, "folder of app.toml files to apply (default: the source tree's testdata/apps)"},
    {"testapp", true, false, "path of portway-testapp (default: next to this build)"},
    {"dataplane", true, true, "up: auto|xdp|nft (default auto); run: repeat to choose (default xdp and nft)"},
    {"help", false, false, "show this help"},
};

constexpr const char* kUsage =
    "usage: portway lab up|down|run [flags]\n"
    "A self-contained demo topology in network namespaces (198.18.0.0/15): a client, a node\n"
    "where portway programs the dataplane, sandboxes running portway-testapp.\n"
    "  up    build it, apply the example apps, register sandboxes, sync\n"
    "  run   sync with each dataplane and probe every frontend; print one table\n"
    "  down  remove everything the lab created (also after a crash)\n"
    "Needs root. Exit: 0, 1 when a probe failed (run), 2 on errors.\n";

config::DataplaneChoice choice_of(const std::string& s) {
  auto c = config::parse_dataplane_choice(s);
  if (!c) throw UsageError("--dataplane must be auto, xdp or nft");
  return *c;
}

}  // namespace

int cmd_lab(std::span<const std::string> args) {
  const ParsedArgs parsed = parse_args(args, kFlags);
  if (parsed.has("help") || parsed.positional().size() != 1) {
    if (!parsed.has("help")) throw UsageError("lab needs exactly one of up, down, run");
    std::cout << kUsage << describe_flags(kFlags);
    return kExitOk;
  }
  lab::LabConfig cfg;
  if (auto v = parsed.value("prefix")) cfg.prefix = *v;
  if (auto v = parsed.value("dir")) cfg.dir = *v;
  cfg.examples_dir = parsed.value("examples").value_or(PORTWAY_SOURCE_DIR "/testdata/apps");
  cfg.testapp = parsed.value("testapp").value_or(PORTWAY_TESTAPP_PATH);
  const std::string& verb = parsed.positional()[0];
  try {
    if (verb == "up") {
      const auto& flags = parsed.values("dataplane");
      const auto choice = flags.empty() ? config::DataplaneChoice::automatic : choice_of(flags.back());
      const lab::LabSummary s = lab::lab_up(cfg, choice);
      std::cout << "lab " << cfg.prefix << " is up: " << s.apps << " apps, " << s.services << " Services, "
                << s.sandboxes << " sandboxes; dataplane " << s.dataplane << " (" << s.reason << ")\n"
                << "  state: " << cfg.dir << "/state.db, node settings: " << cfg.dir << "/node.toml\n";
      return kExitOk;
    }
    if (verb == "down") {
      for (const auto& what : lab::lab_down(cfg)) std::cout << "removed " << what << "\n";
      return kExitOk;
    }
    if (verb == "run") {
      std::vector<config::DataplaneChoice> choices;
      for (const auto& v : parsed.values("dataplane")) choices.push_back(choice_of(v));
      if (choices.empty()) choices = {config::DataplaneChoice::xdp, config::DataplaneChoice::nft};
      const auto rows = lab::lab_run(cfg, choices);
      std::cout << lab::format_table(rows);
      std::size_t failed = 0;
      for (const auto& r : rows) failed += r.ok ? 0 : 1;
      std::cout << rows.size() - failed << " passed, " << failed << " failed\n";
      return failed ? kExitRejected : kExitOk;
    }
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw EnvironmentError("lab " + verb + ": " + e.what());
  }
  throw UsageError("unknown lab command \"" + verb + "\" (up, down, run)");
}

}  // namespace portway::cli
