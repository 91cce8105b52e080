#include "config/text_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portway::config {
namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not a valid one.
// Rejects overlong forms, surrogates and code points above U+10FFFF (RFC 3629), which a
// naive lead-byte check lets through.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;        // overlong
    if (b0 == 0xED) hi = 0x9F;        // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;        // overlong
    if (b0 == 0xF4) hi = 0x8F;        // > U+10FFFF
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return len;
}

}  // namespace

std::optional<Utf8Error> find_invalid_utf8(std::string_view text) {
  std::uint32_t line = 1, col = 1;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return Utf8Error{i, line, col};
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    i += len;
  }
  return std::nullopt;
}

std::optional<Diagnostic> check_text(std::string_view text, const std::string& file) {
  if (text.size() > kMaxConfigBytes) {
    return Diagnostic{file, 1, 1, "", "file is larger than the 1 MiB limit for config files"};
  }
  if (auto bad = find_invalid_utf8(text)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad->offset]));
    return Diagnostic{file, bad->line, bad->col, "",
                      std::string("file is not valid UTF-8 (byte ") + hex + " at offset " +
                          std::to_string(bad->offset) + ")"};
  }
  return std::nullopt;
}

std::optional<std::string> permission_refusal(const std::string& path, unsigned mode,
                                              unsigned owner, unsigned caller, ReadPolicy policy) {
  if (policy.refuse_world_writable && (mode & S_IWOTH))
    return path + ": refusing a world-writable settings file (chmod o-w " + path + ")";
  if (policy.refuse_group_writable && (mode & S_IWGRP))
    return path + ": refusing a group-writable settings file (chmod g-w " + path + ")";
  if (policy.refuse_foreign_owner && owner != 0 && owner != caller)
    return path + ": refusing a settings file owned by uid " + std::to_string(owner) +
           ", neither root nor you (uid " + std::to_string(caller) + "); chown it";
  return std::nullopt;
}

ReadResult read_config_file(const std::string& path, ReadPolicy policy) {
  ReadResult r;
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  if (policy.refuse_symlink) flags |= O_NOFOLLOW;
  // O_NONBLOCK: opening a FIFO must not hang; a non-regular file is refused below anyway.
  const int fd = ::open(path.c_str(), flags | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP && policy.refuse_symlink)
      r.io_error = path + ": refusing to read a symlink (give the real path)";
    else
      r.io_error = path + ": " + std::strerror(err);
    return r;
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    r.io_error = path + ": " + std::strerror(errno);
    return r;
  }
  if (!S_ISREG(st.st_mode)) {
    r.io_error = path + ": not a regular file";
    return r;
  }
  if (auto refused = permission_refusal(path, st.st_mode, st.st_uid, ::geteuid(), policy)) {
    r.io_error = std::move(refused);
    return r;
  }

  std::string buf;
  buf.resize(kMaxConfigBytes + 1);
  std::size_t have = 0;
  while (have < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.io_error = path + ": " + std::strerror(errno);
      return r;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  buf.resize(have);
  r.rejected = check_text(buf, path);
  if (!r.rejected) r.text = std::move(buf);
  return r;
}

}  // namespace portway::config
