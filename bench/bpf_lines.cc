// bpf_lines: a loaded BPF program's JIT addresses by source line, and perf samples counted on
// those lines (docs/performance.md, "Where a BPF program's time goes, by source line").
//
//   bpf_lines --prog-id N                 one line per line record: address, file:line
//   bpf_lines --prog-id N --ips FILE      the samples in FILE (one instruction pointer in hex
//                                         first on each line, as `perf script -F ip` prints)
//                                         by source line, most first
#include <bpf/bpf.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "loader/error.h"
#include "loader/unique_fd.h"
#include "profile/jited_lines.h"

namespace {

std::vector<std::uint64_t> read_ips(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::uint64_t> ips;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    if (!(words >> first)) continue;
    try {
      std::size_t used = 0;
      const std::uint64_t ip = std::stoull(first, &used, 16);
      if (used == first.size()) ips.push_back(ip);
    } catch (const std::exception&) {
      // not a sample line (a header, a symbol-only line): skipped
    }
  }
  return ips;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("A loaded BPF program's JIT addresses by source line, and perf samples counted on them");
  std::uint32_t prog_id = 0;
  std::string ips_path;
  std::size_t top = 40;
  bool json = false;
  app.add_option("--prog-id", prog_id, "the program's id (bpftool prog show)")->required();
  app.add_option("--ips", ips_path, "instruction pointers to count, one per line in hex (perf script -F ip)");
  app.add_option("--top", top, "lines to print with --ips")->capture_default_str();
  app.add_flag("--json", json, "print JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    const portway::loader::UniqueFd fd(bpf_prog_get_fd_by_id(prog_id));
    if (!fd) throw portway::loader::Error("open program " + std::to_string(prog_id), errno, "");
    const auto program = portway::profile::read_jited_program(fd.get());
    if (ips_path.empty()) {
      if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& l : program.lines) out.push_back({{"address", l.address}, {"file", l.file}, {"line", l.line}});
        std::cout << out.dump() << "\n";
      } else {
        for (const auto& l : program.lines) std::printf("%#llx %s:%u\n", static_cast<unsigned long long>(l.address), l.file.c_str(), l.line);
      }
      return 0;
    }
    const auto ips = read_ips(ips_path);
    const auto p = portway::profile::profile_lines(program, ips);
    const double total = p.samples ? static_cast<double>(p.samples) : 1.0;
    if (json) {
      nlohmann::json lines = nlohmann::json::array();
      for (const auto& l : p.lines) lines.push_back({{"where", l.where}, {"samples", l.samples}});
      std::cout << nlohmann::json{{"samples", p.samples}, {"in_program", p.in_program}, {"lines", lines}}.dump() << "\n";
      return 0;
    }
    std::printf("samples %llu, in the program %llu (%.1f%%)\n", static_cast<unsigned long long>(p.samples),
                static_cast<unsigned long long>(p.in_program), 100.0 * static_cast<double>(p.in_program) / total);
    const double in_program = p.in_program ? static_cast<double>(p.in_program) : 1.0;
    std::printf("%% of all  %% of the program's\n");
    for (std::size_t i = 0; i < p.lines.size() && i < top; ++i) {
      const auto n = static_cast<double>(p.lines[i].samples);
      std::printf("%7.2f%%  %7.2f%%  %s\n", 100.0 * n / total, 100.0 * n / in_program, p.lines[i].where.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bpf_lines: " << e.what() << "\n";
    return 1;
  }
}
