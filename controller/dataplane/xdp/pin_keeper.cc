#include "dataplane/xdp/pin_keeper.h"

#include <bpf/bpf.h>

#include <filesystem>
#include <system_error>

#include "loader/xdp_link.h"

namespace portway::dataplane::xdp {
namespace {

// The kernel's id of a map or program fd; 0 when it cannot be read.
std::uint32_t object_id(int fd) {
  bpf_prog_info info{};  // map and program info both start with type, id
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return 0;
  return info.id;
}

}  // namespace

void PinKeeper::hold_all(const PinLayout& pins) {
  std::error_code ec;
  for (const auto& dir : {pins.maps(), pins.progs()}) {
    if (!std::filesystem::is_directory(dir, ec)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const std::string path = entry.path().string();
      loader::UniqueFd fd = loader::open_pinned(path);
      if (!fd) continue;
      auto held = held_.find(path);
      if (held != held_.end() && object_id(held->second.get()) == object_id(fd.get())) continue;
      held_[path] = std::move(fd);
    }
  }
}

std::vector<std::string> PinKeeper::restore_missing() {
  std::vector<std::string> notes;
  std::error_code ec;
  // Every pin gone is a removal of the fast path (by another process, or `rm -r`), not a pin
  // lost by hand: nothing of it is brought back.
  bool any_left = false;
  for (const auto& entry : held_) any_left = any_left || std::filesystem::exists(entry.first, ec);
  if (!any_left) {
    forget();
    return notes;
  }
  for (const auto& [path, fd] : held_) {
    if (std::filesystem::exists(path, ec)) continue;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    loader::pin_object(fd.get(), path);
    notes.push_back("repaired: re-pinned " + std::filesystem::path(path).filename().string() +
                    " from the object this process holds (its pin was missing)");
  }
  return notes;
}

}  // namespace portway::dataplane::xdp
