#include "loader/xdp_link.h"

#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "loader/error.h"

namespace portway::loader {

const char* to_string(XdpMode m) { return m == XdpMode::native ? "native" : "generic"; }

namespace {
// "eth0" for messages an operator reads (status shows the fallback reason); the index only
// when the interface has no name any more.
std::string interface_name(int ifindex) {
  char buf[IF_NAMESIZE] = {};
  if (::if_indextoname(static_cast<unsigned>(ifindex), buf)) return buf;
  return "ifindex " + std::to_string(ifindex);
}

int create_link(int prog_fd, int ifindex, std::uint32_t flags) {
  bpf_link_create_opts opts{};
  opts.sz = sizeof opts;
  opts.flags = flags;
  return bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
}
}  // namespace

XdpLink attach_xdp_link(int prog_fd, int ifindex, bool allow_generic) {
  const std::string step = "attach XDP link to " + interface_name(ifindex);
  XdpLink out;
  int fd = create_link(prog_fd, ifindex, XDP_FLAGS_DRV_MODE);
  if (fd >= 0) {
    out.fd.reset(fd);
    return out;
  }
  const int native_err = -fd;
  // EBUSY: someone else's program is attached; generic mode would not help and must not
  // silently sit next to it.
  if (!allow_generic || native_err == EBUSY) throw Error(step, native_err, "native mode");
  out.fallback_reason = "native XDP refused by the driver of " + interface_name(ifindex) + ": " + std::strerror(native_err);
  fd = create_link(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
  if (fd < 0) throw Error(step, -fd, "generic mode (native failed: " + out.fallback_reason + ")");
  out.fd.reset(fd);
  out.mode = XdpMode::generic;
  spdlog::warn("{}; using generic (skb) XDP, slower", out.fallback_reason);
  return out;
}

void pin_object(int fd, const std::string& path) {
  if (bpf_obj_pin(fd, path.c_str()) != 0) throw Error("pin", errno, path);
}

UniqueFd open_pinned(const std::string& path) {
  const int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    if (errno == ENOENT) return UniqueFd{};
    throw Error("open pinned object", errno, path);
  }
  return UniqueFd{fd};
}

void update_link_program(int link_fd, int prog_fd) {
  check(bpf_link_update(link_fd, prog_fd, nullptr), "replace the program behind an XDP link");
}

XdpLinkInfo xdp_link_info(int link_fd) {
  bpf_link_info info{};
  __u32 len = sizeof info;
  // libbpf 1.1 has only the generic bpf_obj_get_info_by_fd (the typed variants came in 1.2).
  check(bpf_obj_get_info_by_fd(link_fd, &info, &len), "read XDP link info");
  return {info.xdp.ifindex, info.prog_id};
}

void unpin_and_detach(const std::string& path) {
  UniqueFd link = open_pinned(path);
  if (!link) return;
  // Detach explicitly: other holders of the link fd would otherwise keep it attached.
  (void)bpf_link_detach(link.get());
  if (unlink(path.c_str()) != 0 && errno != ENOENT) throw Error("unpin", errno, path);
}

}  // namespace portway::loader
