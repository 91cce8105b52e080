#include "loader/prog_info.h"

#include <linux/bpf.h>

#include <bpf/bpf.h>

#include "loader/error.h"

namespace portway::loader {

ProgramInfo program_info(int prog_fd) {
  // All pointer/length pairs stay zero, so the kernel fills in only the fixed fields.
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  check(bpf_obj_get_info_by_fd(prog_fd, &info, &len), "BPF_OBJ_GET_INFO_BY_FD (program)");
  ProgramInfo out;
  out.name = info.name;
  out.id = info.id;
  out.type = info.type;
  out.verified_insns = info.verified_insns;
  out.xlated_insns = info.xlated_prog_len / static_cast<std::uint32_t>(sizeof(bpf_insn));
  return out;
}

}  // namespace portway::loader
