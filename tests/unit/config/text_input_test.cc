// V12 at the byte level: size limit, UTF-8, and how files are opened.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/app_parser.h"
#include "config/text_input.h"

namespace portway::config {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "portway-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path write(const std::string& name, const std::string& content) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(Utf8, AcceptsValidText) {
  EXPECT_FALSE(find_invalid_utf8("plain ascii").has_value());
  EXPECT_FALSE(find_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80").has_value());
}

TEST(Utf8, FindsTheFirstBadByteWithItsPosition) {
  const auto bad = find_invalid_utf8("ok\nab\xFF");
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->offset, 5u);
  EXPECT_EQ(bad->line, 2u);
  EXPECT_EQ(bad->col, 3u);
}

TEST(Utf8, RejectsOverlongSurrogatesTruncatedAndOutOfRange) {
  EXPECT_TRUE(find_invalid_utf8("\xC0\xAF").has_value()) << "overlong '/'";
  EXPECT_TRUE(find_invalid_utf8("\xE0\x80\xAF").has_value()) << "overlong 3-byte";
  EXPECT_TRUE(find_invalid_utf8("\xED\xA0\x80").has_value()) << "UTF-16 surrogate";
  EXPECT_TRUE(find_invalid_utf8("\xF4\x90\x80\x80").has_value()) << "above U+10FFFF";
  EXPECT_TRUE(find_invalid_utf8("\xE2\x82").has_value()) << "truncated";
  EXPECT_TRUE(find_invalid_utf8("\x80").has_value()) << "lone continuation";
}

TEST(TextChecks, NonUtf8AppTomlIsAClearError) {
  const ParseOutcome out = parse_app("name = \"a\xFF\"\n", "f.toml");
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(to_string(out.errors[0]), "f.toml:1:10: file is not valid UTF-8 (byte 0xFF at offset 9)");
}

TEST(TextChecks, OverOneMebibyteIsRejected) {
  std::string text = "name = \"a\"\n";
  text += "# " + std::string(kMaxConfigBytes, 'x') + "\n";
  const ParseOutcome out = parse_app(text, "big.toml");
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_NE(out.errors[0].message.find("larger than the 1 MiB limit"), std::string::npos);
}

TEST(TextChecks, ExactlyOneMebibyteIsAccepted) {
  std::string text = "name = \"a\"\n#";
  text += std::string(kMaxConfigBytes - text.size() - 1, 'x') + "\n";
  ASSERT_EQ(text.size(), kMaxConfigBytes);
  EXPECT_TRUE(parse_app(text, "f").ok());
}

TEST(ReadConfigFile, ReadsARegularFile) {
  TempDir dir;
  const auto p = dir.write("app.toml", "name = \"a\"\n");
  const ReadResult r = read_config_file(p.string());
  EXPECT_FALSE(r.io_error);
  EXPECT_FALSE(r.rejected);
  EXPECT_EQ(r.text, "name = \"a\"\n");
}

TEST(ReadConfigFile, MissingFileIsAnIoError) {
  const ReadResult r = read_config_file("/nonexistent/portway/app.toml");
  ASSERT_TRUE(r.io_error);
  EXPECT_NE(r.io_error->find("No such file"), std::string::npos);
}

TEST(ReadConfigFile, DirectoryIsNotARegularFile) {
  TempDir dir;
  const ReadResult r = read_config_file(dir.path().string());
  ASSERT_TRUE(r.io_error);
  EXPECT_NE(r.io_error->find("not a regular file"), std::string::npos);
}

TEST(ReadConfigFile, HugeFileIsRejectedWithoutReadingItAll) {
  TempDir dir;
  const auto p = dir.write("big.toml", std::string(3 * kMaxConfigBytes, '#'));
  const ReadResult r = read_config_file(p.string());
  ASSERT_TRUE(r.rejected);
  EXPECT_TRUE(r.text.empty());
}

TEST(ReadConfigFile, SymlinkRefusedOnlyWhenAsked) {
  TempDir dir;
  const auto target = dir.write("real.toml", "name = \"a\"\n");
  const fs::path link = dir.path() / "link.toml";
  fs::create_symlink(target, link);
  EXPECT_FALSE(read_config_file(link.string()).io_error);
  const ReadResult r = read_config_file(link.string(), {.refuse_symlink = true});
  ASSERT_TRUE(r.io_error);
  EXPECT_NE(r.io_error->find("symlink"), std::string::npos);
}

TEST(ReadConfigFile, WorldWritableRefusedOnlyWhenAsked) {
  TempDir dir;
  const auto p = dir.write("node.toml", "");
  ASSERT_EQ(chmod(p.c_str(), 0666), 0);
  EXPECT_FALSE(read_config_file(p.string()).io_error);
  const ReadResult r = read_config_file(p.string(), {.refuse_world_writable = true});
  ASSERT_TRUE(r.io_error);
  EXPECT_NE(r.io_error->find("world-writable"), std::string::npos);
}

TEST(ReadConfigFile, GroupWritableRefusedOnlyWhenAsked) {
  TempDir dir;
  const auto p = dir.write("node.toml", "");
  ASSERT_EQ(chmod(p.c_str(), 0664), 0);
  EXPECT_FALSE(read_config_file(p.string(), {.refuse_world_writable = true}).io_error);
  const ReadResult r = read_config_file(p.string(), {.refuse_group_writable = true});
  ASSERT_TRUE(r.io_error);
  EXPECT_NE(r.io_error->find("group-writable settings file (chmod g-w"), std::string::npos) << *r.io_error;
}

TEST(ReadConfigFile, OwnFileIsNotForeign) {
  TempDir dir;
  const auto p = dir.write("node.toml", "");
  ASSERT_EQ(chmod(p.c_str(), 0644), 0);
  EXPECT_FALSE(read_config_file(p.string(), {.refuse_foreign_owner = true}).io_error);
}

TEST(PermissionRefusal, OwnerMustBeRootOrTheCaller) {
  const ReadPolicy policy{.refuse_foreign_owner = true};
  EXPECT_FALSE(permission_refusal("n", 0644, 0, 1000, policy)) << "root's file";
  EXPECT_FALSE(permission_refusal("n", 0644, 1000, 1000, policy)) << "the caller's file";
  const auto r = permission_refusal("n", 0644, 1001, 1000, policy);
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("owned by uid 1001, neither root nor you (uid 1000)"), std::string::npos) << *r;
  EXPECT_TRUE(permission_refusal("n", 0644, 1001, 0, policy)) << "root running another's file";
  EXPECT_FALSE(permission_refusal("n", 0644, 1001, 1000, {})) << "only when asked";
}

TEST(PermissionRefusal, GroupAndWorldWriteBits) {
  const ReadPolicy strict{.refuse_world_writable = true, .refuse_group_writable = true};
  EXPECT_FALSE(permission_refusal("n", 0644, 0, 0, strict));
  EXPECT_FALSE(permission_refusal("n", 0600, 0, 0, strict));
  EXPECT_TRUE(permission_refusal("n", 0620, 0, 0, strict));
  EXPECT_TRUE(permission_refusal("n", 0602, 0, 0, strict));
}

}  // namespace
}  // namespace portway::config
