#include "loader/error.h"

#include <array>
#include <cstdlib>

#include <bpf/libbpf.h>

namespace portway::loader {
namespace {

std::string describe(std::string_view step, int err, std::string_view detail) {
  std::array<char, 256> buf{};
  // libbpf_strerror also knows libbpf's own codes beyond the errno range.
  if (libbpf_strerror(err, buf.data(), buf.size()) != 0) {
    buf = {};
  }
  std::string msg{step};
  if (!detail.empty()) {
    msg += ": ";
    msg += detail;
  }
  msg += ": ";
  msg += buf[0] != '\0' ? buf.data() : "unknown error";
  msg += " (errno ";
  msg += std::to_string(err);
  msg += ")";
  return msg;
}

}  // namespace

Error::Error(std::string_view step, int err, std::string_view detail)
    : portway::Error(kExitEnvironment, describe(step, std::abs(err), detail)), err_(std::abs(err)) {}

void check(int ret, std::string_view step) {
  if (ret < 0) {
    throw Error(step, ret);
  }
}

}  // namespace portway::loader
