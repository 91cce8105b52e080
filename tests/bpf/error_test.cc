#include "loader/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace portway::test {
namespace {

TEST(LoaderError, CarriesStepErrnoAndLibbpfText) {
  const loader::Error e("load skeleton demo", -EPERM);
  EXPECT_EQ(e.error_code(), EPERM);
  EXPECT_EQ(std::string{e.what()}, "load skeleton demo: Operation not permitted (errno 1)");
}

TEST(LoaderError, DetailGoesBetweenStepAndErrno) {
  const loader::Error e("per-CPU array 'x'", EINVAL, "value_size is 8");
  EXPECT_EQ(std::string{e.what()}, "per-CPU array 'x': value_size is 8: Invalid argument (errno 22)");
}

TEST(LoaderError, KnowsLibbpfOwnCodes) {
  // LIBBPF_ERRNO__VERIFY: what a load that the verifier rejected reports.
  const loader::Error e("load skeleton demo", -4007);
  EXPECT_EQ(e.error_code(), 4007);
  EXPECT_NE(std::string{e.what()}.find("verifier"), std::string::npos) << e.what();
}

TEST(LoaderError, CheckThrowsOnlyOnNegative) {
  EXPECT_NO_THROW(loader::check(0, "ok"));
  EXPECT_NO_THROW(loader::check(3, "fd-like"));
  EXPECT_THROW(loader::check(-ENOENT, "missing"), loader::Error);
}

}  // namespace
}  // namespace portway::test
