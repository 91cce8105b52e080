// bench/profile/jited_lines.h on a loaded program (the prefilter probe: its own file and
// lib/prefilter.h inlined into it), and the attribution of samples to lines.
#include <gtest/gtest.h>

#include <bpf/libbpf.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "loader/error.h"
#include "loader/prog_info.h"
#include "prefilter_probe.skel.h"
#include "profile/jited_lines.h"
#include "support/root.h"
#include "support/run_command.h"

namespace portway::test {
namespace {

struct LinesProbeDeleter {
  void operator()(prefilter_probe* p) const { prefilter_probe__destroy(p); }
};

std::unique_ptr<prefilter_probe, LinesProbeDeleter> load_lines_probe() {
  std::unique_ptr<prefilter_probe, LinesProbeDeleter> skel(prefilter_probe__open());
  if (!skel) throw loader::Error("open prefilter probe", errno, "");
  bpf_map* m;
  bpf_object__for_each_map(m, skel->obj) {
    if (bpf_map__max_entries(m) > 1) loader::check(bpf_map__set_max_entries(m, 1), "size map");
  }
  loader::check(prefilter_probe__load(skel.get()), "load prefilter probe");
  return skel;
}

TEST(JitedLines, ALoadedProgramsLinesNameItsSourcesInsideItsImage) {
  PORTWAY_REQUIRE_ROOT();
  const auto probe = load_lines_probe();
  const auto program = profile::read_jited_program(bpf_program__fd(probe->progs.pw_prefilter_probe));
  ASSERT_FALSE(program.images.empty());
  ASSERT_GT(program.lines.size(), 4u);
  std::set<std::string> files;
  for (std::size_t i = 0; i < program.lines.size(); ++i) {
    const auto& l = program.lines[i];
    // Line 0 is the compiler's "no particular line" (code it made up, e.g. a spill): kept,
    // as perf samples land on it too.
    if (l.line > 0) files.insert(l.file);
    if (i > 0) {
      EXPECT_GE(l.address, program.lines[i - 1].address);
    }
    EXPECT_TRUE(std::any_of(program.images.begin(), program.images.end(), [&](const profile::JitedImage& im) {
      return l.address >= im.start && l.address < im.start + im.length;
    })) << l.file << ":" << l.line;
  }
  EXPECT_TRUE(files.count("prefilter_probe.bpf.c"));
  EXPECT_TRUE(files.count("prefilter.h"));  // inlined: its lines are the probe's too
}

// The tool (bench/bpf_lines.cc) on the same program: its line table, and samples read from a
// file in perf script's form counted on the lines.
TEST(JitedLines, TheToolCountsAFilesSamplesOnTheProgramsLines) {
  PORTWAY_REQUIRE_ROOT();
  const auto probe = load_lines_probe();
  const int fd = bpf_program__fd(probe->progs.pw_prefilter_probe);
  const auto program = profile::read_jited_program(fd);
  const std::string id = std::to_string(loader::program_info(fd).id);
  const auto run = [](const std::string& args) {
    const auto r = run_command(std::string(PORTWAY_BPF_LINES_BINARY) + " " + args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.out;
    return nlohmann::json::parse(r.out);
  };
  EXPECT_EQ(run("--prog-id " + id + " --json").size(), program.lines.size());
  const auto& last = program.lines.back();
  const std::string ips = "/tmp/portway-bpf-lines-" + std::to_string(getpid());
  {
    std::ofstream f(ips);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(last.address));
    f << "# a header line\n" << hex << "\n" << hex << " bpf_prog_x_pw_prefilter_probe\n1\n";
  }
  const auto p = run("--prog-id " + id + " --ips " + ips + " --json");
  std::remove(ips.c_str());
  EXPECT_EQ(p["samples"], 3);  // the "1" is an address outside the program
  EXPECT_EQ(p["in_program"], 2);
  ASSERT_EQ(p["lines"].size(), 1u);
  EXPECT_EQ(p["lines"][0]["where"], last.file + ":" + std::to_string(last.line));
  EXPECT_EQ(p["lines"][0]["samples"], 2);
  // Bad input: an id no program has, a samples file that is not there, no id at all. An
  // error, and nothing on stdout that could be read as a result.
  for (const std::string& bad : {std::string("--prog-id 4294967295"), "--prog-id " + id + " --ips /nonexistent/ips", std::string("")}) {
    const auto r = run_command(std::string(PORTWAY_BPF_LINES_BINARY) + " " + bad + " --json 2>/dev/null");
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_EQ(r.out, "") << bad;
  }
}

TEST(JitedLines, SamplesLandOnTheLastRecordAtOrBeforeThemInsideAnImage) {
  profile::JitedProgram program;
  program.images = {{0x1000, 0x40}, {0x2000, 0x20}};
  program.lines = {{0x1000, "a.c", 10}, {0x1010, "b.h", 3}, {0x1030, "a.c", 12}, {0x2000, "c.h", 7}};
  const std::vector<std::uint64_t> ips{0x1000, 0x100f, 0x1010, 0x102f, 0x1030, 0x103f,
                                       0x1040,  // one past the first image
                                       0x0fff, 0x2010, 0x2020, 0x5000};
  const auto p = profile::profile_lines(program, ips);
  EXPECT_EQ(p.samples, 11u);
  EXPECT_EQ(p.in_program, 7u);
  ASSERT_EQ(p.lines.size(), 4u);
  EXPECT_EQ(p.lines[0].where, "a.c:10");  // 2, first of the ties by name
  EXPECT_EQ(p.lines[0].samples, 2u);
  const auto of = [&](const std::string& w) {
    for (const auto& l : p.lines)
      if (l.where == w) return l.samples;
    return std::uint64_t{0};
  };
  EXPECT_EQ(of("b.h:3"), 2u);
  EXPECT_EQ(of("a.c:12"), 2u);
  EXPECT_EQ(of("c.h:7"), 1u);
}

}  // namespace
}  // namespace portway::test
