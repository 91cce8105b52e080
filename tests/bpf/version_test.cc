// `portway --version` names the BPF programs installed under a pin folder by the kernel's id
// and tag (docs/cli.md "--version"): a real load of portway_lb into a pin folder of this test's
// own, read back by the function and by the binary through --node.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/installed_programs.h"
#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/meta_maps.h"
#include "loader/bpffs.h"
#include "loader/prog_info.h"
#include "support/root.h"

namespace portway {
namespace {

namespace fs = std::filesystem;

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class VersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    loader::ensure_bpffs(pins_.dir);
    for (const auto& sub : {pins_.maps(), pins_.progs()}) fs::create_directories(sub);
  }
  // Removing the pins frees the programs and maps: nothing was attached.
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(pins_.dir, ec);
    fs::remove_all(tmp_, ec);
  }

  const dataplane::xdp::PinLayout pins_{"/sys/fs/bpf/portway-version-" + std::to_string(::getpid())};
  const std::string tmp_ = "/tmp/portway-version-" + std::to_string(::getpid());
};

TEST_F(VersionTest, NamesEachPinnedProgramByIdAndTag) {
  // Nothing pinned yet (an empty progs folder): said, not failed.
  EXPECT_TRUE(has_line(cli::describe_installed_programs(pins_.dir),
                       "bpf programs: not installed (nothing pinned in " + pins_.progs() + ")"));

  const dataplane::xdp::LoadedPrograms loaded = dataplane::xdp::load_and_pin(pins_, loader::LbCapacities{});
  auto meta = dataplane::xdp::MetaMaps::open_or_create(pins_, 16, 16);
  meta.set_program_fingerprint(dataplane::xdp::embedded_object_fingerprint());
  const loader::ProgramInfo xdp = loader::program_info(loaded.xdp.get());
  const loader::ProgramInfo tc = loader::program_info(loaded.tc.get());
  const std::string xdp_line = "bpf program xdp: id " + std::to_string(xdp.id) + " tag " + xdp.tag + " name " + xdp.name;
  const std::string tc_line = "bpf program tc: id " + std::to_string(tc.id) + " tag " + tc.tag + " name " + tc.name;

  const auto lines = cli::describe_installed_programs(pins_.dir);
  EXPECT_TRUE(has_line(lines, xdp_line)) << joined(lines);
  EXPECT_TRUE(has_line(lines, tc_line)) << joined(lines);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.starts_with("bpf object installed: fingerprint ") && l.ends_with(" (this build)");
  })) << joined(lines);

  // Another build's object is told apart.
  meta.set_program_fingerprint(dataplane::xdp::embedded_object_fingerprint() ^ 1);
  const auto other = cli::describe_installed_programs(pins_.dir);
  EXPECT_TRUE(std::any_of(other.begin(), other.end(), [](const std::string& l) {
    return l.ends_with("(another build: the next sync replaces it)");
  })) << joined(other);

  // The binary reads the pin folder the node file names.
  fs::create_directories(tmp_);
  const std::string node = tmp_ + "/node.toml";
  std::ofstream(node) << "bpffs_dir = \"" << pins_.dir << "\"\n";
  ::chmod(node.c_str(), 0600);
  const std::string out = tmp_ + "/out";
  const std::string cmd = std::string(PORTWAY_BINARY) + " status --node " + node + " --version >" + out + " 2>&1";
  const int status = std::system(cmd.c_str());
  std::stringstream text;
  text << std::ifstream(out).rdbuf();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text.str();
  EXPECT_NE(text.str().find("\n" + xdp_line + "\n"), std::string::npos) << text.str();
}

TEST_F(VersionTest, APinThatIsNoProgramIsSaidNotFailed) {
  // A pin folder outside bpffs holding a plain file where a program should be.
  fs::create_directories(tmp_ + "/progs");
  std::ofstream(tmp_ + "/progs/xdp") << "not a program";
  const auto lines = cli::describe_installed_programs(tmp_);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.starts_with("bpf program xdp: cannot read: ");
  })) << joined(lines);
}

}  // namespace
}  // namespace portway
