// Keeps the repository self-contained: a comment or a document may cite only documents the
// repository holds (docs/NAME.md, with a section heading that exists), never a folder outside
// it, and product code comments say why, not what happened before (history belongs in commit
// messages). docs/testing.md "Repository checks".
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace portway::repo_check {

struct Finding {
  std::string file;  // relative to the repository root
  int line = 0;
  std::string message;
};
std::string to_string(const Finding& f);

// The headings of a Markdown text (outside code fences), without their leading '#'s.
std::vector<std::string> markdown_headings(std::string_view text);

// Every citation of a `.md` file in `text` (the contents of `file`, a path relative to `root`)
// that does not resolve: a bare name outside docs/ that is not a file next to the citing one
// or at the root, a path that does not exist, or a quoted section ("Name" after the citation)
// that no heading of the cited document starts with. Also any reference to a folder outside
// the repository ("../shared").
std::vector<Finding> check_citations(const std::filesystem::path& root, const std::string& file,
                                     std::string_view text);

// Phrases that tell history in a product source file ("used to", "previously", "was fixed",
// an issue number, ...).
std::vector<Finding> check_history(const std::string& file, std::string_view text);

// The repository's text files: everything under `root` but .git, build trees (any folder
// holding a CMakeCache.txt), the fuzz corpus and binary files; paths relative to `root`.
std::vector<std::string> text_files(const std::filesystem::path& root);

// Whether `file` (relative) is product code: controller/, loader/, bpf/, include/, packaging/.
bool is_product_code(std::string_view file);

}  // namespace portway::repo_check
