#include "dataplane/sync_status.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace portway::dataplane {

nlohmann::json to_json(const SyncStatus& s) {
  return {{"dataplane", s.dataplane},   {"requested", s.requested},
          {"reason", s.reason},         {"last_sync_ms", s.last_sync_ms},
          {"store_generation", s.store_generation}, {"changes", s.changes},
          {"notes", s.notes},
          {"programmed_generation", s.programmed_generation},
          {"last_programmed_ms", s.last_programmed_ms},
          {"daemon_pid", s.daemon_pid},
          {"last_check_ms", s.last_check_ms},
          {"last_change_seconds", s.last_change_seconds},
          {"store_error", s.store_error},
          {"program_error", s.program_error},
          {"ready", s.ready},
          {"drift_repairs", s.drift_repairs}};
}

SyncStatus sync_status_from_json(const nlohmann::json& j) {
  SyncStatus s;
  s.dataplane = j.at("dataplane").get<std::string>();
  s.requested = j.at("requested").get<std::string>();
  s.reason = j.at("reason").get<std::string>();
  s.last_sync_ms = j.at("last_sync_ms").get<std::int64_t>();
  s.store_generation = j.at("store_generation").get<std::uint64_t>();
  s.changes = j.at("changes").get<std::size_t>();
  s.notes = j.at("notes").get<std::vector<std::string>>();
  // Absent from records written before the daemon existed: a sync programmed what it read.
  s.programmed_generation = j.value("programmed_generation", s.store_generation);
  s.last_programmed_ms = j.value("last_programmed_ms", s.last_sync_ms);
  s.daemon_pid = j.value("daemon_pid", 0);
  s.last_check_ms = j.value("last_check_ms", std::int64_t{0});
  s.last_change_seconds = j.value("last_change_seconds", 0.0);
  s.store_error = j.value("store_error", std::string());
  s.program_error = j.value("program_error", std::string());
  s.ready = j.value("ready", false);
  s.drift_repairs = j.value("drift_repairs", std::map<std::string, std::uint64_t>{});
  return s;
}

std::string sync_status_path(const std::string& state_db_path) {
  return (std::filesystem::path(state_db_path).parent_path() / "dataplane.json").string();
}

void save_sync_status(const std::string& path, const SyncStatus& s) {
  const std::string tmp = path + ".tmp";
  const std::string text = to_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "write " + tmp);
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = errno;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()) || !synced) {
    ::unlink(tmp.c_str());
    throw std::system_error(err, std::generic_category(), "write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::system_error(errno, std::generic_category(), "rename " + tmp);
}

std::optional<SyncStatus> load_sync_status(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return sync_status_from_json(nlohmann::json::parse(ss.str()));
}

}  // namespace portway::dataplane
