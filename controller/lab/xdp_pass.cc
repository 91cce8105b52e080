#include "lab/xdp_pass.h"

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <system_error>

namespace portway::lab {

void attach_xdp_pass(const std::string& link) {
  const unsigned ifindex = if_nametoindex(link.c_str());
  if (ifindex == 0) throw std::system_error(errno, std::generic_category(), "xdp pass: no link " + link);
  // r0 = XDP_PASS; exit
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = XDP_PASS;
  insns[1].code = BPF_JMP | BPF_EXIT;
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "pw_lab_pass", "GPL", insns, 2, nullptr);
  if (fd < 0) throw std::system_error(-fd, std::generic_category(), "xdp pass: load");
  const int err = bpf_xdp_attach(static_cast<int>(ifindex), fd, XDP_FLAGS_DRV_MODE, nullptr);
  close(fd);  // the attachment holds its own reference
  if (err) throw std::system_error(-err, std::generic_category(), "xdp pass: attach to " + link);
}

}  // namespace portway::lab
