// One function per subcommand; each parses its own flags and returns its exit code.
#pragma once

#include <span>
#include <string>

namespace portway::cli {

int cmd_validate(std::span<const std::string> args);
int cmd_apply(std::span<const std::string> args);
int cmd_delete(std::span<const std::string> args);
int cmd_services(std::span<const std::string> args);
int cmd_sandbox(std::span<const std::string> args);
int cmd_probe(std::span<const std::string> args);
int cmd_sync(std::span<const std::string> args);
int cmd_status(std::span<const std::string> args);
int cmd_stats(std::span<const std::string> args);
int cmd_dump(std::span<const std::string> args);
int cmd_lab(std::span<const std::string> args);
int cmd_daemon(std::span<const std::string> args);
int cmd_pktgen(std::span<const std::string> args);

}  // namespace portway::cli
