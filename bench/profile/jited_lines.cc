#include "profile/jited_lines.h"

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>

#include "loader/error.h"

namespace portway::profile {
namespace {

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

bpf_prog_info info_of(int prog_fd, bpf_prog_info info, const char* what) {
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) throw loader::Error(what, errno, "");
  return info;
}

}  // namespace

JitedProgram read_jited_program(int prog_fd) {
  const bpf_prog_info counts = info_of(prog_fd, {}, "read a program's info");
  if (counts.nr_line_info == 0 || counts.nr_jited_line_info != counts.nr_line_info)
    throw loader::Error("read a program's line info", ENOENT,
                        std::to_string(counts.nr_line_info) + " line records, " +
                            std::to_string(counts.nr_jited_line_info) +
                            " with JIT addresses (none: built without BTF lines, or kernel.kptr_restrict hides them)");
  // Second call: the kernel fills the arrays it was given room for, at the record sizes it
  // named in the first.
  std::vector<std::uint8_t> line_info(std::size_t{counts.nr_line_info} * counts.line_info_rec_size);
  std::vector<std::uint64_t> jited_lines(counts.nr_jited_line_info);
  std::vector<std::uint64_t> ksyms(counts.nr_jited_ksyms);
  std::vector<std::uint32_t> func_lens(counts.nr_jited_func_lens);
  bpf_prog_info want{};
  want.nr_line_info = counts.nr_line_info;
  want.line_info_rec_size = counts.line_info_rec_size;
  want.line_info = reinterpret_cast<std::uintptr_t>(line_info.data());
  want.nr_jited_line_info = counts.nr_jited_line_info;
  want.jited_line_info_rec_size = sizeof(std::uint64_t);
  want.jited_line_info = reinterpret_cast<std::uintptr_t>(jited_lines.data());
  want.nr_jited_ksyms = counts.nr_jited_ksyms;
  want.jited_ksyms = reinterpret_cast<std::uintptr_t>(ksyms.data());
  want.nr_jited_func_lens = counts.nr_jited_func_lens;
  want.jited_func_lens = reinterpret_cast<std::uintptr_t>(func_lens.data());
  const bpf_prog_info got = info_of(prog_fd, want, "read a program's line info");
  // A caller the kernel will not show kernel addresses (kernel.kptr_restrict) gets the counts
  // but the address arrays' pointers cleared, and nothing written into them.
  if (got.jited_line_info == 0 || got.jited_ksyms == 0)
    throw loader::Error("read a program's JIT addresses", EPERM, "kernel.kptr_restrict hides them from this caller");

  const std::unique_ptr<btf, BtfDeleter> names(btf__load_from_kernel_by_id(got.btf_id));
  if (!names) throw loader::Error("read a program's BTF", errno, "id " + std::to_string(got.btf_id));
  JitedProgram out;
  for (std::size_t i = 0; i < got.nr_line_info; ++i) {
    bpf_line_info rec{};
    std::copy_n(line_info.data() + i * got.line_info_rec_size, std::min<std::size_t>(sizeof(rec), got.line_info_rec_size),
                reinterpret_cast<std::uint8_t*>(&rec));
    const char* path = btf__name_by_offset(names.get(), rec.file_name_off);
    std::string file = path ? path : "?";
    if (const auto slash = file.rfind('/'); slash != std::string::npos) file.erase(0, slash + 1);
    out.lines.push_back({jited_lines[i], std::move(file), BPF_LINE_INFO_LINE_NUM(rec.line_col)});
  }
  std::stable_sort(out.lines.begin(), out.lines.end(),
                   [](const JitedLine& a, const JitedLine& b) { return a.address < b.address; });
  for (std::size_t i = 0; i < ksyms.size() && i < func_lens.size(); ++i) out.images.push_back({ksyms[i], func_lens[i]});
  std::sort(out.images.begin(), out.images.end(),
            [](const JitedImage& a, const JitedImage& b) { return a.start < b.start; });
  return out;
}

LineProfile profile_lines(const JitedProgram& program, std::span<const std::uint64_t> ips) {
  LineProfile p;
  std::map<std::string, std::uint64_t> by_line;
  for (const std::uint64_t ip : ips) {
    ++p.samples;
    const auto image = std::upper_bound(program.images.begin(), program.images.end(), ip,
                                        [](std::uint64_t v, const JitedImage& i) { return v < i.start; });
    if (image == program.images.begin() || ip >= std::prev(image)->start + std::prev(image)->length) continue;
    const auto line = std::upper_bound(program.lines.begin(), program.lines.end(), ip,
                                       [](std::uint64_t v, const JitedLine& l) { return v < l.address; });
    ++p.in_program;
    if (line == program.lines.begin() || std::prev(line)->address < std::prev(image)->start)
      ++by_line["?"];  // before the image's first record (none is emitted there in practice)
    else
      ++by_line[std::prev(line)->file + ":" + std::to_string(std::prev(line)->line)];
  }
  for (auto& [where, n] : by_line) p.lines.push_back({where, n});
  std::stable_sort(p.lines.begin(), p.lines.end(),
                   [](const LineSamples& a, const LineSamples& b) { return a.samples > b.samples; });
  return p;
}

}  // namespace portway::profile
