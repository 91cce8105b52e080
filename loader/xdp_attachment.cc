#include "loader/xdp_attachment.h"

#include <fcntl.h>
#include <linux/if_link.h>

#include <cerrno>
#include <string>
#include <utility>

#include <bpf/libbpf.h>

#include "loader/error.h"

namespace portway::loader {

XdpAttachment::XdpAttachment(int ifindex, int prog_fd, std::uint32_t mode)
    : ifindex_(ifindex), mode_(mode), prog_(::fcntl(prog_fd, F_DUPFD_CLOEXEC, 0)) {
  const std::string step = "attach XDP program to ifindex " + std::to_string(ifindex);
  if (!prog_) {
    throw Error(step, errno, "cannot duplicate the program fd");
  }
  check(bpf_xdp_attach(ifindex_, prog_.get(), mode_ | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr),
        step);
}

XdpAttachment::XdpAttachment(XdpAttachment&& other) noexcept
    : ifindex_(other.ifindex_), mode_(other.mode_), prog_(std::move(other.prog_)) {}

XdpAttachment::~XdpAttachment() {
  if (!prog_) {
    return;
  }
  // XDP_FLAGS_REPLACE + old_prog_fd: the kernel compares the attached program with ours
  // atomically, so we never detach a program that replaced ours in the meantime.
  bpf_xdp_attach_opts opts{};
  opts.sz = sizeof(opts);
  opts.old_prog_fd = prog_.get();
  (void)bpf_xdp_detach(ifindex_, mode_ | XDP_FLAGS_REPLACE, &opts);
}

}  // namespace portway::loader
