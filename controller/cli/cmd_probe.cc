// portway probe [--json] [--node FILE]
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/node_file.h"
#include "dataplane/probe/feature_probe.h"

namespace portway::cli {
namespace {

constexpr const char* kUsage =
    "usage: portway probe [--json] [--node FILE]\n"
    "Check the kernel features the XDP/tc fast path needs; each yes/no with the reason.\n"
    "Nothing is attached or changed. Run as root to see what portway itself would get.\n"
    "Exit: 0 the probe ran (whatever it found), 2 usage error or unreadable settings.\n";

}  // namespace

int cmd_probe(std::span<const std::string> args) {
  CommandLine cmdline("portway probe", kUsage);
  std::optional<std::string> node_file;
  bool json = false;
  cmdline.add_json(cmdline.app(), json, "{\"fast_path\":bool,\"features\":[...]}");
  cmdline.add_node(cmdline.app(), node_file, "node settings (TOML): the uplinks to check and bpffs_dir");
  if (const auto exit_code = cmdline.parse(args)) return *exit_code;
  const config::NodeSettings node = load_node_settings(node_file);
  const dataplane::probe::ProbeReport report = dataplane::probe::probe_kernel(node);

  if (json) {
    std::cout << dataplane::probe::to_json(report).dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& f : report.features) {
    std::cout << (f.ok ? "yes  " : "no   ") << f.name << (f.required ? "" : " (optional)") << ": " << f.reason
              << "\n";
  }
  const std::string why = dataplane::probe::unavailable_reason(report);
  std::cout << (why.empty() ? "fast path: possible (auto tries it first)\n"
                            : "fast path: not possible, auto uses nftables (" + why + ")\n");
  return kExitOk;
}

}  // namespace portway::cli
