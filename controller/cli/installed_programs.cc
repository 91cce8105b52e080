#include "cli/installed_programs.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/meta_maps.h"
#include "dataplane/xdp/pin_layout.h"
#include "loader/prog_info.h"
#include "loader/xdp_link.h"

namespace portway::cli {
namespace {

namespace fs = std::filesystem;

std::string hex64(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// The pin folder is root's (mode 0700) on a normal node: say so rather than only "denied".
std::string cannot_read(const std::string& path, const std::error_code& ec) {
  std::string line = "cannot read " + path + ": " + ec.message();
  if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted)
    line += " (the pin folder is root's: run as root to see the installed programs)";
  return line;
}

std::string installed_object(const dataplane::xdp::PinLayout& pins, std::uint64_t built_in) {
  try {
    const auto meta = dataplane::xdp::MetaMaps::open_existing(pins);
    if (!meta) return "bpf object installed: not recorded (no metadata maps in " + pins.maps() + ")";
    const std::uint64_t installed = meta->program_fingerprint();
    if (installed == 0) return "bpf object installed: not recorded";
    return "bpf object installed: fingerprint " + hex64(installed) +
           (installed == built_in ? " (this build)" : " (another build: the next sync replaces it)");
  } catch (const std::exception& e) {
    return std::string("bpf object installed: cannot read: ") + e.what();
  }
}

}  // namespace

std::vector<std::string> describe_installed_programs(const std::string& bpffs_dir) {
  const dataplane::xdp::PinLayout pins{bpffs_dir};
  const std::uint64_t built_in = dataplane::xdp::embedded_object_fingerprint();
  std::vector<std::string> lines{"bpf object built in: fingerprint " + hex64(built_in)};

  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(pins.progs(), ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec == std::errc::no_such_file_or_directory || (!ec && names.empty())) {
    lines.push_back("bpf programs: not installed (nothing pinned in " + pins.progs() + ")");
    return lines;
  }
  if (ec) {
    lines.push_back("bpf programs: " + cannot_read(pins.progs(), ec));
    return lines;
  }
  lines.push_back(installed_object(pins, built_in));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = pins.progs() + "/" + name;
    try {
      const loader::UniqueFd fd = loader::open_pinned(path);
      if (!fd) {
        lines.push_back("bpf program " + name + ": gone while reading " + path);
        continue;
      }
      const loader::ProgramInfo info = loader::program_info(fd.get());
      lines.push_back("bpf program " + name + ": id " + std::to_string(info.id) + " tag " + info.tag + " name " +
                      info.name);
    } catch (const std::exception& e) {
      lines.push_back("bpf program " + name + ": cannot read: " + e.what());
    }
  }
  return lines;
}

}  // namespace portway::cli
