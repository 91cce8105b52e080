// The lab's node file: a lab folder and prefix holding TOML's own delimiters, control bytes
// and non-ASCII still give a file that reads back as exactly the lab's settings, written with
// the mode node files need.
#include "lab/node_file_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "cli/node_file.h"
#include "lab/lab.h"

namespace portway::lab {
namespace {
namespace fs = std::filesystem;

config::NodeSettings read_back(const std::string& text) {
  const auto out = config::parse_node_settings(text, "node.toml");
  std::string errors;
  for (const auto& e : out.errors) errors += to_string(e) + "\n";
  EXPECT_TRUE(out.settings.has_value()) << errors << "--- file:\n" << text;
  return out.settings.value_or(config::NodeSettings{});
}

TEST(LabNodeFile, AHostileLabFolderAndPrefixReadBackByteForByte) {
  for (const std::string prefix : {"pwlab", "q\"x", "b\\s", "n\nl", "\xc3\xa9t\xc3\xa9"}) {
    LabConfig cfg;
    cfg.prefix = prefix;
    cfg.dir = "/run/portway-lab \"quoted\" back\\slash\nnew line\t\xe4\xb8\xad " + std::to_string(getpid());
    const config::NodeSettings wanted = lab_node_settings(cfg);
    ASSERT_NE(wanted.api_socket.find("\"quoted\""), std::string::npos);
    const std::string text = node_file_text(wanted);
    EXPECT_EQ(read_back(text), wanted) << text;
  }
}

TEST(LabNodeFile, IsWrittenWithModeSixHundredAndReplacedWhole) {
  const fs::path dir = fs::temp_directory_path() / ("portway-lab-node-file-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "node.toml").string();
  std::ofstream(path) << "stale = true\n";
  ::chmod(path.c_str(), 0644);

  LabConfig cfg;
  cfg.dir = dir.string();
  config::NodeSettings s = lab_node_settings(cfg);
  s.dataplane = config::DataplaneChoice::nft;
  write_node_file(path, s);

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  // Read as `portway --node` reads it: the file checks pass and the settings come back.
  EXPECT_EQ(cli::load_node_settings(path), s);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace portway::lab
