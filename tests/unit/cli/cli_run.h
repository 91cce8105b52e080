// Running the real `portway` binary as a user or a script does, for the CLI tests: through
// the shell, stdout and stderr captured apart, the exit code as the shell sees it.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace portway::testing {

struct CliRun {
  int exit_code;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string write_file(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
  return path;
}

// Runs `<prefix> portway <args>` (prefix: environment settings, a `cd DIR &&`), keeping its
// output in `dir`.
inline CliRun run_portway(const std::string& prefix, const std::string& args, const std::string& dir) {
  const std::string out = dir + "/stdout", err = dir + "/stderr";
  const std::string cmd = prefix + " " + std::string(PORTWAY_BINARY) + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace portway::testing
