// The one exception type of the loader: which step failed, and the kernel's or libbpf's errno.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "errors/error.h"

namespace portway::loader {

class Error : public portway::Error {
 public:
  // `err` may be given as libbpf returns it (negative) or as errno (positive); it is stored
  // positive. The message reads "<step>: <detail>: <libbpf_strerror(err)>", detail optional.
  Error(std::string_view step, int err, std::string_view detail = {});

  // Positive errno value (or one of libbpf's LIBBPF_ERRNO__* codes, e.g. 4007 for a program
  // the verifier rejected).
  [[nodiscard]] int error_code() const noexcept { return err_; }

 private:
  int err_;
};

// Throws Error(step, ret) when a libbpf call that returns 0 / -errno reports failure.
void check(int ret, std::string_view step);

}  // namespace portway::loader
