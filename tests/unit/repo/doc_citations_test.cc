// The repository check (doc_citations.h) on small trees of its own, then on the repository.
#include "doc_citations.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace portway::repo_check {
namespace {
namespace fs = std::filesystem;

class Tree {
 public:
  Tree() : root_(fs::temp_directory_path() / ("portway-repo-check-" + std::to_string(getpid()))) {
    fs::remove_all(root_);
    fs::create_directories(root_ / "docs");
    write("docs/model.md",
          "# Model\n\n## The store\n\n```sh\n# Not a heading\n```\n### Service entities\n## `sandbox set --to`\n");
    write("README.md", "# portway\n");
  }
  ~Tree() { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  std::vector<Finding> cite(const std::string& file, const std::string& text) const {
    return check_citations(root_, file, text);
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

std::string all(const std::vector<Finding>& fs) {
  std::string out;
  for (const auto& f : fs) out += to_string(f) + "\n";
  return out;
}

TEST(DocCitations, ABareSpecNameInCodeIsFlagged) {
  Tree t;
  const auto f = t.cite("controller/x.h", "// The entities of model.md\n// and the rows of quality.md.\n");
  ASSERT_EQ(f.size(), 2u) << all(f);
  EXPECT_EQ(f[0].line, 1);
  EXPECT_NE(f[0].message.find("cite docs/model.md"), std::string::npos) << f[0].message;
  EXPECT_EQ(f[1].line, 2);
}

TEST(DocCitations, ADocsPathThatExistsWithItsSectionPasses) {
  Tree t;
  EXPECT_EQ(all(t.cite("controller/x.h", "// docs/model.md \"The store\", docs/model.md (\"Service entities\")\n")), "");
  EXPECT_EQ(all(t.cite("controller/x.h", "// see docs/model.md, \"Service\n// entities\": why\n")), "");
  EXPECT_EQ(all(t.cite("controller/x.h", "// README.md and docs/model.md.\n")), "");
  // Case and code marks do not count: "sandbox set" starts the heading `sandbox set --to`.
  EXPECT_EQ(all(t.cite("docs/other.md", "model.md \"Sandbox set\", model.md \"`sandbox set`\"\n")), "");
}

TEST(DocCitations, AMissingDocOrSectionIsFlagged) {
  Tree t;
  EXPECT_EQ(t.cite("controller/x.h", "// docs/cli.md\n").size(), 1u);
  const auto f = t.cite("bpf/x.c", "/* docs/model.md \"IP allocation\" */\n");
  ASSERT_EQ(f.size(), 1u) << all(f);
  EXPECT_NE(f[0].message.find("no such heading"), std::string::npos);
  // A '#' line inside a code fence is not a heading.
  EXPECT_EQ(t.cite("controller/x.h", "// docs/model.md \"Not a heading\"\n").size(), 1u);
}

TEST(DocCitations, BareNamesInsideDocsResolveToDocs) {
  Tree t;
  EXPECT_EQ(all(t.cite("docs/other.md", "See model.md \"The store\".\n")), "");
  EXPECT_EQ(t.cite("docs/other.md", "As dataplane.md says.\n").size(), 1u);
}

TEST(DocCitations, AFolderOutsideTheRepositoryIsFlagged) {
  Tree t;
  const auto f = t.cite("docs/other.md", "Read ../shared/spec/model.md.\n");
  EXPECT_GE(f.size(), 1u);
  EXPECT_NE(all(f).find("outside the repository"), std::string::npos) << all(f);
}

TEST(DocCitations, UrlsStringEndsAndExtensionsAreNotCitations) {
  Tree t;
  EXPECT_EQ(all(t.cite("controller/x.cc", "// https://example.org/x/README2.md\n"
                                          "f(\"docs/model.md\" \"tail\");\n"
                                          "// every *.md file\n")),
            "");
}

TEST(HistoryPhrases, AreFlaggedInProductCode) {
  EXPECT_EQ(check_history("controller/x.h", "// Miren's bug: every port to the first target.\n").size(), 1u);
  EXPECT_EQ(check_history("controller/x.h", "// This used to drop frames.\n").size(), 1u);
  EXPECT_EQ(check_history("controller/x.h", "// Previously we waited.\n").size(), 1u);
  EXPECT_EQ(check_history("controller/x.h", "// The race was fixed by the lock.\n").size(), 1u);
  EXPECT_EQ(check_history("controller/x.h", "// Since issue 11, and issue #4.\n").size(), 2u);
  EXPECT_EQ(check_history("controller/x.h", "// (issue: lab demo)\n").size(), 1u);
}

TEST(HistoryPhrases, IdentifiersAndPresentTenseAreNot) {
  EXPECT_EQ(check_history("controller/x.h", "PortSet previously_ours; // ports no longer claimed\n").size(), 0u);
  EXPECT_TRUE(is_product_code("controller/x.h"));
  EXPECT_TRUE(is_product_code("include/portway/lb_abi.h"));
  EXPECT_FALSE(is_product_code("tests/unit/x.cc"));
  EXPECT_FALSE(is_product_code("docs/performance.md"));
}

// The repository itself: every citation resolves, and product code tells no history.
TEST(Repository, EveryCitedDocumentIsInTheRepository) {
  const fs::path root = PORTWAY_SOURCE_DIR;
  const auto files = text_files(root);
  ASSERT_GT(files.size(), 100u);
  std::string findings;
  for (const auto& f : files) {
    if (f.starts_with("tests/unit/repo/")) continue;  // the check's own examples
    std::ifstream in(root / f, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    findings += all(check_citations(root, f, text.str()));
  }
  EXPECT_EQ(findings, "");
}

TEST(Repository, ProductCodeCommentsCarryNoHistory) {
  const fs::path root = PORTWAY_SOURCE_DIR;
  std::string findings;
  for (const auto& f : text_files(root)) {
    if (!is_product_code(f)) continue;
    std::ifstream in(root / f, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    findings += all(check_history(f, text.str()));
  }
  EXPECT_EQ(findings, "");
}

}  // namespace
}  // namespace portway::repo_check
