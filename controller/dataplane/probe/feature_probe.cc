#include "dataplane/probe/feature_probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "dataplane/probe/xdp_features.h"

namespace portway::dataplane::probe {
namespace {

constexpr long kBpffsMagic = 0xcafe4a11;  // BPF_FS_MAGIC
// BPF_F_INNER_MAP (a per-set Maglev table of its own size) is the newest thing the fast
// path relies on.
constexpr int kMinMajor = 5, kMinMinor = 10;

std::string errno_text(int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES)
    return "permission denied: needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and CAP_NET_ADMIN";
  return std::strerror(err);
}

// libbpf's probes answer 1 (supported), 0 (not), or a negative errno (could not tell).
Feature libbpf_answer(std::string name, int rc, const std::string& what) {
  if (rc == 1) return {std::move(name), true, true, "supported: " + what};
  if (rc == 0) return {std::move(name), false, true, "the kernel does not support " + what};
  return {std::move(name), false, true, "cannot probe " + what + ": " + errno_text(rc)};
}

// Without a working bpf() every libbpf probe fails the same way; say that rather than
// "not supported".
Feature not_probed(std::string name) {
  return {std::move(name), false, true, "not probed: bpf() is not usable by this process"};
}

Feature kernel_version() {
  utsname u{};
  uname(&u);
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  const bool ok = major > kMinMajor || (major == kMinMajor && minor >= kMinMinor);
  return {"kernel_version", ok, true,
          std::string(u.release) + (ok ? " (5.10 or later)" : " is older than 5.10 (BPF_F_INNER_MAP)")};
}

Feature bpf_syscall() {
  // A map create is the cheapest use of the bpf() syscall that needs the BPF capability.
  const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pw_probe", 4, 4, 1, nullptr);
  if (fd >= 0) {
    close(fd);
    return {"bpf_syscall", true, true, "bpf() works with this process's capabilities"};
  }
  return {"bpf_syscall", false, true, "bpf() failed: " + errno_text(errno)};
}

Feature btf() {
  const char* path = "/sys/kernel/btf/vmlinux";
  std::ifstream f(path, std::ios::binary);
  if (f.good() && f.peek() != std::ifstream::traits_type::eof())
    return {"btf_vmlinux", true, true, std::string(path) + " is readable"};
  return {"btf_vmlinux", false, true, std::string(path) + " is missing (kernel built without CONFIG_DEBUG_INFO_BTF)"};
}

Feature bpffs(const std::string& dir) {
  // The pin directory itself may not exist yet: what matters is the filesystem it will be on.
  std::filesystem::path p = dir.empty() ? "/sys/fs/bpf" : dir;
  std::error_code ec;
  while (!p.empty() && p != p.root_path() && !std::filesystem::exists(p, ec)) p = p.parent_path();
  struct statfs st{};
  if (statfs(p.c_str(), &st) != 0) return {"bpffs", false, true, p.string() + ": " + std::strerror(errno)};
  if (st.f_type == kBpffsMagic) return {"bpffs", true, true, p.string() + " is on a bpf filesystem"};
  return {"bpffs", false, true,
          dir + " is not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf, or set bpffs_dir)"};
}

Feature inner_maps() {
  const int ok = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_ARRAY_OF_MAPS, nullptr);
  if (ok != 1) return libbpf_answer("array_of_maps_inner_map", ok, "BPF_MAP_TYPE_ARRAY_OF_MAPS");
  LIBBPF_OPTS(bpf_map_create_opts, inner_opts, .map_flags = BPF_F_INNER_MAP);
  const int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pw_probe_in", 4, 4, 1, &inner_opts);
  if (inner < 0) {
    return {"array_of_maps_inner_map", false, true,
            "BPF_F_INNER_MAP refused (" + errno_text(errno) + "): Maglev tables could not differ in size"};
  }
  LIBBPF_OPTS(bpf_map_create_opts, outer_opts, .inner_map_fd = static_cast<__u32>(inner));
  const int outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "pw_probe_out", 4, 4, 1, &outer_opts);
  const int err = errno;
  close(inner);
  if (outer < 0) return {"array_of_maps_inner_map", false, true, "outer map refused: " + errno_text(err)};
  close(outer);
  return {"array_of_maps_inner_map", true, true, "ARRAY_OF_MAPS with BPF_F_INNER_MAP inner maps works"};
}

std::string kernel_config_value(const std::string& key) {
  utsname u{};
  uname(&u);
  std::ifstream f(std::string("/boot/config-") + u.release);
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with(key + "=")) return line.substr(key.size() + 1);
  return "";
}

Feature tc_clsact() {
  const int rc = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, nullptr);
  if (rc != 1) return libbpf_answer("tc_clsact", rc, "tc BPF programs (BPF_PROG_TYPE_SCHED_CLS)");
  // clsact lives in sch_ingress; without a kernel config to read, the attach is the test.
  const std::string cfg = kernel_config_value("CONFIG_NET_SCH_INGRESS");
  if (cfg == "y" || cfg == "m" || std::filesystem::exists("/sys/module/sch_ingress"))
    return {"tc_clsact", true, true, "tc BPF programs and the clsact qdisc (sch_ingress) are available"};
  if (cfg.empty())
    return {"tc_clsact", true, true, "tc BPF programs are supported; clsact is checked when attaching"};
  return {"tc_clsact", false, true, "the kernel has no clsact qdisc (CONFIG_NET_SCH_INGRESS is not set)"};
}

Feature native_xdp(const std::string& ifname) {
  const std::string name = "xdp_native:" + ifname;
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) return {name, false, false, "no interface " + ifname + " in this network namespace"};
  const XdpFeatures f = query_xdp_features(ifindex);
  if (!f.error.empty()) return {name, false, false, "cannot query " + ifname + ": " + f.error};
  if (!f.mask) return {name, false, false, "unknown: the kernel has no netdev netlink family (< 6.3); tried at attach"};
  if (*f.mask & kXdpActBasic) {
    return {name, true, false,
            ifname + "'s driver runs XDP natively" +
                std::string(*f.mask & kXdpActRedirect ? " (with redirect)" : " (without redirect)")};
  }
  return {name, false, false, ifname + "'s driver has no native XDP: generic (skb) mode only, slower"};
}

}  // namespace

bool ProbeReport::fast_path_possible() const { return first_missing() == nullptr; }

const Feature* ProbeReport::first_missing() const {
  for (const Feature& f : features)
    if (f.required && !f.ok) return &f;
  return nullptr;
}

ProbeReport probe_kernel(const config::NodeSettings& settings) {
  ProbeReport r;
  r.features.push_back(kernel_version());
  const Feature syscall = bpf_syscall();
  r.features.push_back(syscall);
  const auto bpf_probe = [&](std::string name, const std::function<Feature(std::string)>& f) {
    r.features.push_back(syscall.ok ? f(std::move(name)) : not_probed(std::move(name)));
  };
  bpf_probe("xdp_program", [](std::string n) {
    return libbpf_answer(std::move(n), libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nullptr), "XDP programs");
  });
  r.features.push_back(btf());
  r.features.push_back(bpffs(settings.bpffs_dir));
  bpf_probe("tc_clsact", [](std::string) { return tc_clsact(); });
  bpf_probe("array_of_maps_inner_map", [](std::string) { return inner_maps(); });
  bpf_probe("lru_hash_map", [](std::string n) {
    return libbpf_answer(std::move(n), libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, nullptr),
                         "BPF_MAP_TYPE_LRU_HASH");
  });
  bpf_probe("bpf_fib_lookup", [](std::string n) {
    return libbpf_answer(std::move(n), libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_fib_lookup, nullptr),
                         "the bpf_fib_lookup helper in XDP");
  });
  for (const auto& uplink : settings.uplinks) r.features.push_back(native_xdp(uplink));
  return r;
}

nlohmann::json to_json(const ProbeReport& r) {
  nlohmann::json features = nlohmann::json::array();
  for (const Feature& f : r.features)
    features.push_back({{"name", f.name}, {"ok", f.ok}, {"required", f.required}, {"reason", f.reason}});
  return {{"fast_path", r.fast_path_possible()}, {"features", std::move(features)}};
}

std::string unavailable_reason(const ProbeReport& r) {
  const Feature* f = r.first_missing();
  return f ? "kernel feature " + f->name + " missing: " + f->reason : "";
}

}  // namespace portway::dataplane::probe
