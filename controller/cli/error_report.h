// How a command's failure reaches the user: one line on stderr naming the command, and the
// exit code (docs/operations.md "Exit codes"). Whatever a command throws ends here; nothing
// escapes as an abort.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace portway::cli {

// Runs `command_body`; an exception becomes a message on `err` and its exit code: a
// portway::Error its own code, anything else 2. Usage errors point at `portway NAME --help`;
// a permission failure says which privileges portway needs.
int run_reporting_errors(const std::string& command, const std::function<int()>& command_body,
                         std::ostream& err) noexcept;

// std::terminate (an exception escaping a thread or a noexcept function) prints what is known
// and exits 2 instead of aborting with a core dump.
void exit_instead_of_abort_on_terminate();

}  // namespace portway::cli
