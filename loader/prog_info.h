// What the kernel says about a loaded program, for test and benchmark reports.
#pragma once

#include <cstdint>
#include <string>

namespace portway::loader {

struct ProgramInfo {
  std::string name;
  std::uint32_t id = 0;    // kernel-wide program id (what links report as prog_id)
  std::uint32_t type = 0;  // BPF_PROG_TYPE_*
  // Instructions the verifier processed while proving the program safe (its "processed N
  // insns"), summed over all paths it explored: a complexity figure, not the program size.
  std::uint32_t verified_insns = 0;
  // Size after the verifier's rewrites, in 8-byte instructions.
  std::uint32_t xlated_insns = 0;
  // The kernel's hash of the instructions (bpftool's "tag"), in hex: equal for the same
  // program loaded twice, different when the instructions differ.
  std::string tag;
};

// Throws loader::Error if the fd is not a BPF program.
[[nodiscard]] ProgramInfo program_info(int prog_fd);

[[nodiscard]] inline std::uint32_t verified_insns(int prog_fd) {
  return program_info(prog_fd).verified_insns;
}

}  // namespace portway::loader
