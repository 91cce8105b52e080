#include "cli/error_report.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <system_error>

#include "cli/command_line.h"
#include "errors/error.h"
#include "loader/error.h"
#include "model/errors.h"

namespace portway::cli {
namespace {

// Messages are one line: a kernel or library text with a newline in it would otherwise
// split a log line or a script's `2>` capture.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

bool is_permission(int err) { return err == EPERM || err == EACCES; }

constexpr const char* kPrivilegeHint =
    " (portway needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON with write access to the "
    "state database's folder and the pin folder: docs/operations.md \"Privileges\")";

}  // namespace

int run_reporting_errors(const std::string& command, const std::function<int()>& command_body,
                         std::ostream& err) noexcept {
  const std::string who = "portway " + command + ": ";
  try {
    try {
      return command_body();
    } catch (const UsageError& e) {
      const std::string path = e.command_path().empty() ? "portway " + command : e.command_path();
      err << path << ": " << one_line(e.what()) << " (see " << path << " --help)\n";
      return e.exit_code();
    } catch (const model::Rejected& e) {
      // Every reason the input was refused, one line each: the user fixes them all at once.
      for (const std::string& reason : e.reasons()) err << who << one_line(reason) << "\n";
      return e.exit_code();
    } catch (const loader::Error& e) {
      err << who << one_line(e.what()) << (is_permission(e.error_code()) ? kPrivilegeHint : "") << "\n";
      return e.exit_code();
    } catch (const Error& e) {
      // An empty message: the command has printed its diagnostics already.
      if (*e.what()) err << who << one_line(e.what()) << "\n";
      return e.exit_code();
    } catch (const std::system_error& e) {
      const bool permission = e.code() == std::errc::operation_not_permitted ||
                              e.code() == std::errc::permission_denied;
      err << who << one_line(e.what()) << (permission ? kPrivilegeHint : "") << "\n";
      return kExitEnvironment;
    } catch (const std::exception& e) {
      err << who << one_line(e.what()) << "\n";
      return kExitEnvironment;
    } catch (...) {
      err << who << "failed with an error of unknown type\n";
      return kExitEnvironment;
    }
  } catch (...) {
    // Writing the message itself failed (stderr closed): the exit code still tells.
    return kExitEnvironment;
  }
}

void exit_instead_of_abort_on_terminate() {
  std::set_terminate([] {
    const char* what = "no exception (std::terminate was called directly)";
    std::string text;
    if (const std::exception_ptr current = std::current_exception()) {
      try {
        std::rethrow_exception(current);
      } catch (const std::exception& e) {
        text = one_line(e.what());
        what = text.c_str();
      } catch (...) {
        what = "an exception of unknown type";
      }
    }
    std::fprintf(stderr, "portway: internal error, stopping: %s\n", what);
    std::fflush(stderr);
    ::_exit(kExitEnvironment);
  });
}

}  // namespace portway::cli
