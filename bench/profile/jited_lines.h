// Where a BPF program's time goes by source line, on a machine whose perf and bpftool cannot
// disassemble BPF: the kernel maps every JIT address of a program to its source line
// (bpf_prog_info's jited_line_info beside line_info, the names in the program's BTF), and
// perf's sampled instruction pointers fall on those lines (docs/performance.md, "Where a BPF
// program's time goes, by source line").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace portway::profile {

// One line-info record: the JIT address where the instructions of `file`:`line` start.
struct JitedLine {
  std::uint64_t address = 0;
  std::string file;  // the base name, e.g. "conn_set.h"
  std::uint32_t line = 0;
};

// The address range of one of the program's JIT images (the main program and each
// BPF-to-BPF subprogram has its own).
struct JitedImage {
  std::uint64_t start = 0;
  std::uint32_t length = 0;
};

struct JitedProgram {
  std::vector<JitedLine> lines;    // sorted by address
  std::vector<JitedImage> images;  // sorted by start
};

// Reads the line table and the images of a loaded program. Throws loader::Error when the kernel
// gives no line info (a program built without BTF lines, or addresses hidden from this caller
// by kernel.kptr_restrict).
[[nodiscard]] JitedProgram read_jited_program(int prog_fd);

struct LineSamples {
  std::string where;  // "file:line"
  std::uint64_t samples = 0;
};

struct LineProfile {
  std::uint64_t samples = 0;     // every instruction pointer given
  std::uint64_t in_program = 0;  // those inside one of the program's images
  std::vector<LineSamples> lines;  // most samples first, then by name
};

// Attributes each instruction pointer inside an image to the last line record at or before
// it (a sample lands on an instruction; its line's record starts at or before it).
[[nodiscard]] LineProfile profile_lines(const JitedProgram& program, std::span<const std::uint64_t> ips);

}  // namespace portway::profile
