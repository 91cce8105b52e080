#include "daemon/capabilities.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <system_error>

#include <spdlog/spdlog.h>

#include "loader/bpffs.h"
#include "loader/cgroup_link.h"
#include "loader/error.h"

namespace portway::daemon {
namespace {

using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, decltype(&cap_free)>;

CapState current_caps() {
  CapState caps(cap_get_proc(), &cap_free);
  if (!caps) throw std::system_error(errno, std::generic_category(), "read this process's capabilities");
  return caps;
}

bool has(cap_t caps, cap_value_t cap, cap_flag_t flag) {
  cap_flag_value_t v = CAP_CLEAR;
  return cap_get_flag(caps, cap, flag, &v) == 0 && v == CAP_SET;
}

void apply(cap_t caps, const char* what) {
  if (cap_set_proc(caps) != 0) throw std::system_error(errno, std::generic_category(), what);
}

// Raises CAP_SYS_ADMIN in the effective set for `step` when it is permitted, and lowers it
// again whatever happens. Without it, the step runs as it is and reports its own EPERM.
void with_sys_admin(const std::function<void()>& step) {
  CapState caps = current_caps();
  if (!has(caps.get(), CAP_SYS_ADMIN, CAP_PERMITTED)) return step();
  const cap_value_t admin[] = {CAP_SYS_ADMIN};
  cap_set_flag(caps.get(), CAP_EFFECTIVE, 1, admin, CAP_SET);
  apply(caps.get(), "raise CAP_SYS_ADMIN to mount");
  struct Lower {
    cap_t caps;
    ~Lower() {
      const cap_value_t a[] = {CAP_SYS_ADMIN};
      cap_set_flag(caps, CAP_EFFECTIVE, 1, a, CAP_CLEAR);
      cap_set_proc(caps);
    }
  } lower{caps.get()};
  step();
}

bool is_kept(int cap) {
  for (const int k : kKeptCapabilities)
    if (k == cap) return true;
  return false;
}

CapabilityMask parse_hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

}  // namespace

CapabilityMask mask_of(const std::vector<int>& caps) {
  CapabilityMask m = 0;
  for (const int c : caps) m |= CapabilityMask{1} << c;
  return m;
}

std::string capability_names(CapabilityMask mask) {
  std::string out;
  for (int c = 0; c < 64; ++c) {
    if (!(mask & (CapabilityMask{1} << c))) continue;
    char* name = cap_to_name(static_cast<cap_value_t>(c));
    if (!out.empty()) out += ",";
    out += name ? name : std::to_string(c);
    cap_free(name);
  }
  return out.empty() ? "none" : out;
}

ProcessCapabilities capabilities_of(pid_t pid) {
  const std::string path = pid == 0 ? "/proc/self/status" : "/proc/" + std::to_string(pid) + "/status";
  std::ifstream in(path);
  if (!in) throw std::system_error(errno, std::generic_category(), "read " + path);
  ProcessCapabilities out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, value;
    fields >> key >> value;
    if (key == "CapInh:") out.inheritable = parse_hex(value);
    else if (key == "CapPrm:") out.permitted = parse_hex(value);
    else if (key == "CapEff:") out.effective = parse_hex(value);
    else if (key == "CapBnd:") out.bounding = parse_hex(value);
    else if (key == "CapAmb:") out.ambient = parse_hex(value);
  }
  return out;
}

LeastPrivilege enter_least_privilege(const config::NodeSettings& settings) {
  LeastPrivilege out;
  // The only steps that need CAP_SYS_ADMIN: the pins and socket hooks cannot exist without
  // these file systems, and mounting is not something CAP_BPF or CAP_NET_ADMIN allow.
  if (!loader::is_bpffs(loader::kBpffsRoot)) {
    with_sys_admin([&] { loader::ensure_bpffs(settings.bpffs_dir); });
    out.mounted.push_back(std::string("bpffs at ") + loader::kBpffsRoot);
  }
  if (settings.cgroup.empty() && !loader::cgroup2_mount()) {
    std::string at;
    with_sys_admin([&] { at = loader::ensure_cgroup2(); });
    out.mounted.push_back("cgroup2 at " + at);
  }

  CapState caps = current_caps();
  std::vector<cap_value_t> keep, drop;
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
    if (is_kept(c)) {
      if (has(caps.get(), c, CAP_PERMITTED)) keep.push_back(c);
      else out.missing |= CapabilityMask{1} << c;
    } else {
      drop.push_back(c);
    }
  }
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes below. A process
  // without CAP_SETPCAP got its bounding set from whoever started it (setpriv, systemd's
  // CapabilityBoundingSet=), and with no_new_privs and nothing permitted beyond the kept
  // three, exec cannot regain any of the others.
  if (has(caps.get(), CAP_SETPCAP, CAP_EFFECTIVE)) {
    for (const cap_value_t c : drop)
      if (CAP_IS_SUPPORTED(c) && cap_drop_bound(c) != 0)
        throw std::system_error(errno, std::generic_category(), "drop a capability from the bounding set");
  }
  // The daemon never executes anything: no capability has a reason to be inherited.
  if (cap_reset_ambient() != 0 && errno != EINVAL)
    throw std::system_error(errno, std::generic_category(), "clear the ambient capabilities");
  CapState kept(cap_init(), &cap_free);
  if (!kept) throw std::system_error(errno, std::generic_category(), "cap_init");
  if (!keep.empty()) {
    cap_set_flag(kept.get(), CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET);
    cap_set_flag(kept.get(), CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET);
  }
  apply(kept.get(), "drop capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw std::system_error(errno, std::generic_category(), "set no_new_privs");

  out.kept = capabilities_of().effective;
  spdlog::info("capabilities: kept {}{}", capability_names(out.kept),
               out.missing ? " (never had " + capability_names(out.missing) + ")" : std::string());
  for (const auto& m : out.mounted) spdlog::info("mounted {} (it was missing), then dropped CAP_SYS_ADMIN", m);
  return out;
}

}  // namespace portway::daemon
