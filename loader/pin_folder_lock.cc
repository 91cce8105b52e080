#include "loader/pin_folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "loader/bpffs.h"
#include "loader/error.h"

namespace portway::loader {
namespace {

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

PinFolderBusy::PinFolderBusy(const std::string& folder, std::optional<pid_t> holder)
    : portway::Error(kExitEnvironment, "the pin folder " + folder + " is in use by " +
                         (holder ? "pid " + std::to_string(*holder) : std::string("another process")) +
                         " (a portway sync, lab or daemon: one writer at a time); try again when it "
                         "has finished"),
      holder_(holder) {}

PinFolderLock PinFolderLock::acquire(const std::string& folder, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    ensure_bpffs(folder);
    UniqueFd fd(open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;  // removed by the holder between mkdir and open
      throw Error("open pin folder", errno, folder);
    }
    if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      // The previous holder may have removed the folder while we waited on it: a lock on a
      // directory no longer at `folder` protects nothing.
      struct stat held {}, now {};
      if (fstat(fd.get(), &held) == 0 && stat(folder.c_str(), &now) == 0 && same_inode(held, now))
        return PinFolderLock(std::move(fd), folder);
      continue;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) throw Error("lock pin folder", errno, folder);
    if (std::chrono::steady_clock::now() >= deadline) throw PinFolderBusy(folder, pin_folder_lock_holder(folder));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<pid_t> pin_folder_lock_holder(const std::string& folder) {
  struct stat st {};
  if (stat(folder.c_str(), &st) != 0) return std::nullopt;
  // /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF", the device as hex
  // major:minor; waiters are listed with "->" and are not holders.
  std::ostringstream want;
  want << std::hex << major(st.st_dev) << ":" << minor(st.st_dev) << ":" << std::dec << st.st_ino;
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::istringstream in(line);
    std::string ordinal, kind, mode, access, device;
    long pid = 0;
    if (!(in >> ordinal >> kind)) continue;
    if (kind == "->") continue;
    if (!(in >> mode >> access >> pid >> device)) continue;
    if (kind != "FLOCK" || access != "WRITE" || pid <= 0) continue;
    // Normalise "00:1a:5678" to the unpadded hex form built above.
    unsigned maj = 0, min = 0;
    unsigned long ino = 0;
    if (std::sscanf(device.c_str(), "%x:%x:%lu", &maj, &min, &ino) != 3) continue;
    std::ostringstream got;
    got << std::hex << maj << ":" << min << ":" << std::dec << ino;
    if (got.str() == want.str()) return static_cast<pid_t>(pid);
  }
  return std::nullopt;
}

}  // namespace portway::loader
