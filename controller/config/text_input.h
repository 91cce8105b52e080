// Getting a config file's bytes safely: bounded size, regular files only, UTF-8 checked,
// so the TOML parser only ever sees text it can report positions in.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostic.h"

namespace portway::config {

inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;  // V12: larger is rejected

// Where the first invalid UTF-8 sequence starts, as a 1-based line/column (column counted
// in bytes, since the line is not valid text past that point). nullopt: the text is valid.
struct Utf8Error {
  std::size_t offset;
  std::uint32_t line;
  std::uint32_t col;
};
std::optional<Utf8Error> find_invalid_utf8(std::string_view text);

// Checks that apply to text from any source (V12's size and encoding rules).
std::optional<Diagnostic> check_text(std::string_view text, const std::string& file);

struct ReadResult {
  std::string text;
  std::optional<Diagnostic> rejected;  // the content is unacceptable (size, encoding): exit 1
  std::optional<std::string> io_error;  // the file could not be read at all: exit 2
};

struct ReadPolicy {
  // Settings files steer what the node forwards: refuse ones any local user could edit,
  // ones a group could edit, and ones owned by a user other than root and the caller.
  bool refuse_world_writable = false;
  bool refuse_group_writable = false;
  bool refuse_foreign_owner = false;
  // ...and refuse symlinks, so the checked file is the file read.
  bool refuse_symlink = false;
};

// Why a file with this mode and owner is refused under `policy` (as read_config_file words
// it), or nullopt.
std::optional<std::string> permission_refusal(const std::string& path, unsigned mode,
                                              unsigned owner, unsigned caller, ReadPolicy policy);

// Reads at most kMaxConfigBytes + 1 bytes, so a huge file costs nothing to reject.
ReadResult read_config_file(const std::string& path, ReadPolicy policy = {});

}  // namespace portway::config
