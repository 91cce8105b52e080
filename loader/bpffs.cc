#include "loader/bpffs.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <filesystem>

#include "loader/error.h"

namespace portway::loader {

bool is_bpffs(const std::string& path) {
  struct statfs st {};
  if (statfs(path.c_str(), &st) != 0) return false;
  return static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

void ensure_bpffs(const std::string& dir) {
  const std::string root = kBpffsRoot;
  if (dir.rfind(root + "/", 0) != 0) throw Error("pin folder", EINVAL, dir + " is not under " + root);
  if (!is_bpffs(root)) {
    if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) throw Error("mkdir", errno, root);
    if (mount("bpf", root.c_str(), "bpf", 0, "mode=0700") != 0)
      throw Error("mount bpffs", errno, root);
    spdlog::info("mounted the BPF filesystem at {} (it was not mounted)", root);
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("create pin folder", ec.value(), dir);
  if (chmod(dir.c_str(), 0700) != 0) throw Error("chmod", errno, dir);
}

}  // namespace portway::loader
