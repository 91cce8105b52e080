// map_info.h and prog_info.h: what the kernel says about a map or program fd.
#include <linux/bpf.h>

#include <bpf/bpf.h>

#include "loader/error.h"
#include "loader/map_info.h"
#include "loader/prog_info.h"

namespace portway::loader {
namespace {

// BPF_OBJ_GET_INFO_BY_FD into a zeroed bpf_map_info / bpf_prog_info. All pointer/length pairs
// stay zero, so the kernel fills in only the fixed fields.
template <typename Info>
Info obj_info(int fd, const char* what) {
  Info info{};
  __u32 len = sizeof(info);
  check(bpf_obj_get_info_by_fd(fd, &info, &len), what);
  return info;
}

}  // namespace

MapInfo map_info(int map_fd) {
  const auto info = obj_info<bpf_map_info>(map_fd, "BPF_OBJ_GET_INFO_BY_FD (map)");
  MapInfo out;
  out.name = info.name;
  out.type = info.type;
  out.key_size = info.key_size;
  out.value_size = info.value_size;
  out.max_entries = info.max_entries;
  out.map_flags = info.map_flags;
  return out;
}

ProgramInfo program_info(int prog_fd) {
  const auto info = obj_info<bpf_prog_info>(prog_fd, "BPF_OBJ_GET_INFO_BY_FD (program)");
  ProgramInfo out;
  out.name = info.name;
  out.id = info.id;
  out.type = info.type;
  out.verified_insns = info.verified_insns;
  out.xlated_insns = info.xlated_prog_len / static_cast<std::uint32_t>(sizeof(bpf_insn));
  static constexpr char kHex[] = "0123456789abcdef";
  for (const unsigned char byte : info.tag) {
    out.tag += kHex[byte >> 4];
    out.tag += kHex[byte & 0xf];
  }
  return out;
}

}  // namespace portway::loader
