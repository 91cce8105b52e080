#include "ops/daemon_process.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace portway::ops {

bool is_portway_daemon(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  if (!in) return false;
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  std::string::size_type at = 0;
  while (at < raw.size() && argv.size() < 2) {
    const auto end = raw.find('\0', at);
    argv.push_back(raw.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return argv.size() == 2 && std::filesystem::path(argv[0]).filename().string().starts_with("portway") &&
         argv[1] == "daemon";
}

}  // namespace portway::ops
